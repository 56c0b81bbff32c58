"""The terminal view (rich): a table per app and a one-line summary."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.models import Action, ChangeKind, ChangeSetEntry, FieldChange
from agent.redact import redact
from agent.report.messages import changes_summary
from agent.results import AppStatus, DriftReport, ObjectHealth, RollbackResult, SyncResult
from agent.sync.record import RevisionRecord

_STYLE = {
    Action.CREATED: "green",
    Action.CONFIGURED: "yellow",
    Action.UNCHANGED: "dim",
    Action.PRUNED: "magenta",
    Action.SKIPPED: "cyan",
    Action.FAILED: "bold red",
}


def _value(v: Any) -> str:
    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    return escape(redact(text if len(text) <= 80 else text[:79] + "…"))


def _revision(r: SyncResult | DriftReport) -> str:
    rev = r.revision
    return "" if rev is None else f" at {rev.short} ({escape(rev.ref)}) of {escape(rev.repo)}"


def _changes_table(entries: Sequence[ChangeSetEntry]) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("OBJECT")
    table.add_column("ACTION")
    for e in entries:
        action = f"[{_STYLE[e.action]}]{e.action}[/]"
        if e.error:
            action += f" [dim]({escape(redact(e.error))})[/]"
        table.add_row(escape(str(e.key)), action)
    return table


def print_sync(results: Sequence[SyncResult], console: Console) -> None:
    for r in results:
        if r.held is not None:
            console.print(f"[yellow]⏸[/] {escape(r.app)}: {escape(redact(r.held))}")
            console.print()
            continue
        if r.failure is not None and not r.changeset.entries:
            console.print(f"[bold red]error:[/] {escape(r.app)}: {escape(redact(str(r.failure)))}")
            continue
        dry = " [cyan](dry run: nothing was changed)[/]" if r.dry_run else ""
        console.print(f"[bold]{escape(r.app)}[/]{_revision(r)}{dry}")
        if r.changeset.entries:
            console.print(_changes_table(r.changeset.entries))
        if r.health:
            console.print(_health_table(r.health))
        recorded = f"; revision {r.record} recorded" if r.record else ""
        if r.unrecorded is not None:
            recorded = f"; converged, record not written ({redact(r.unrecorded)})"
        if r.seconds is not None:
            recorded += f" ({r.seconds:.1f} s)"
        if r.failure is None:
            console.print(f"[green]✔[/] {escape(r.app)}: {changes_summary(r.changeset)}{escape(recorded)}")
            for note in r.notes:
                console.print(f"[dim]{escape(redact(note.strip()))}[/]")
        else:
            console.print(f"[red]✘[/] {escape(r.app)}: {changes_summary(r.changeset)}{recorded}")
            console.print(f"[bold red]error:[/] {escape(r.app)}: {escape(redact(str(r.failure)))}")
        if r.rollback is not None:
            print_rollback(r.app, r.rollback, console)
        console.print()


_HEALTH_STYLE = {"Healthy": "green", "Progressing": "cyan", "Suspended": "cyan", "Missing": "yellow"}


def _health_table(verdicts: Sequence[ObjectHealth]) -> Table:
    """Each object the sync waited for: its last verdict, the rule that decided it, and why."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False, title_justify="left")
    table.title = "health, as last seen while waiting"
    for column in ("OBJECT", "HEALTH", "RULE", "WHY"):
        table.add_column(column)
    for h in verdicts:
        style = _HEALTH_STYLE.get(h.health, "bold red")
        table.add_row(
            escape(h.object), f"[{style}]{h.health}[/]", escape(h.rule), escape(_one_line(h.message))
        )
    return table


def print_rollback(app: str, rb: RollbackResult, console: Console) -> None:
    console.print(
        f"[bold]{escape(app)}[/]: rolling back to revision {rb.to_revision} (commit {rb.commit[:7]})"
    )
    if rb.changeset.entries:
        console.print(_changes_table(rb.changeset.entries))
    recorded = f"; revision {rb.record} recorded" if rb.record else ""
    if rb.ok:
        summary = changes_summary(rb.changeset)
        console.print(
            f"[yellow]↩[/] {escape(app)}: rolled back to revision {rb.to_revision}: {summary}{recorded}"
        )
    else:
        console.print(f"[red]✘[/] {escape(app)}: rollback to revision {rb.to_revision} failed{recorded}")
        console.print(f"[bold red]error:[/] {escape(app)}: {escape(redact(str(rb.failure)))}")


def _one_line(text: str, limit: int = 90, console: Console | None = None) -> str:
    """One line, cut at ``limit`` on a terminal; whole where nobody reads it
    on a screen (a pipe, a file, a CI log)."""
    line = " ".join(redact(text).split())
    if console is not None and not console.is_terminal:
        return line
    return line if len(line) <= limit else line[: limit - 1] + "…"


HISTORY_COLUMNS = (
    ("REVISION", 8),
    ("COMMIT", 7),
    ("OPERATION", 14),
    ("TRIGGER", 9),
    ("RESULT", 9),
    ("HEALTH", 11),
    ("FINISHED", 20),
    ("RENDERED BY", 28),
)
_MESSAGE_MIN_WIDTH = 30


def render_label(inputs: Mapping[str, Any]) -> str:
    """What produced a revision, short: ``kustomize v5.8.1``, ``helm v4.3.2
    redis 18.2.0``, ``jinja guestbook 0.1.0``, ``plain``; ``-`` for records
    written before renders were recorded."""
    if not inputs:
        return "-"
    renderer = str(inputs.get("renderer", "?"))
    engine = str(inputs.get("engine", ""))
    words = [engine if engine.startswith(renderer) else renderer]
    if inputs.get("chart"):
        words += [str(inputs["chart"]), str(inputs.get("version", ""))]
    return " ".join(w for w in words if w)


def print_history(
    app: str, records: Sequence[RevisionRecord], console: Console, *, wide: bool = False
) -> None:
    """A table of revisions; messages in a last column when the terminal is
    wide enough, else on their own lines under the table.  ``wide`` (``-o
    wide``) adds the whole commit, the ref it was asked as and the start."""
    if not records:
        console.print(f"{escape(app)}: no revisions recorded yet")
        return
    fixed = sum(width + 1 for _, width in HISTORY_COLUMNS)
    inline = wide or console.width - fixed >= _MESSAGE_MIN_WIDTH
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column, width in HISTORY_COLUMNS:
        table.add_column(column, no_wrap=True, min_width=40 if wide and column == "COMMIT" else width)
    if wide:
        table.add_column("REF", no_wrap=True)
        table.add_column("STARTED", no_wrap=True)
    if inline:
        table.add_column("MESSAGE", overflow="fold")
    for r in records:
        result = f"[green]{r.result}[/]" if r.succeeded else f"[red]{r.result}[/]"
        operation = r.operation if r.rollback_of is None else f"rollback of {r.rollback_of}"
        commit = r.commit if wide else r.commit[:7]
        cells = [str(r.number), commit, operation, r.trigger, result, r.health or "-", r.finished]
        cells.append(escape(render_label(r.render)))
        cells += [escape(r.ref), r.started] if wide else []
        table.add_row(*cells, *([escape(_one_line(r.message, console=console))] if inline else []))
    console.print(table)
    if not inline:
        for r in records:
            if r.message:
                console.print(f"  {r.number}: {escape(_one_line(r.message, 300, console))}", soft_wrap=False)


def print_status(statuses: Sequence[AppStatus], console: Console, *, wide: bool = False) -> None:
    """A row per app; ``wide`` (``-o wide``) adds the whole commit, the
    repository, the drifted objects and when the last revision finished.
    Apps on clusters other than ``default`` add a CLUSTER column, the rows
    grouped by cluster (in the order the clusters first appear)."""
    clusters = list(dict.fromkeys(s.cluster for s in statuses))
    by_cluster = clusters != ["default"] and bool(statuses)
    if by_cluster:
        statuses = sorted(statuses, key=lambda s: clusters.index(s.cluster))
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    lead = ["CLUSTER"] if by_cluster else []
    for column in (*lead, "APP", "SYNC", "HEALTH", "REVISION", "LAST", "RESULT"):
        table.add_column(column, no_wrap=True)
    if wide:
        for column in ("COMMIT", "REPO", "DRIFTED", "FINISHED"):
            table.add_column(column, no_wrap=True)
    table.add_column("MESSAGE", overflow="fold")
    for s in statuses:
        sync = {"Synced": "green", "OutOfSync": "yellow"}.get(str(s.sync_status), "red")
        health = {"Healthy": "green", "Progressing": "cyan", "Suspended": "cyan"}.get(s.health.label, "red")
        revision = f"{s.revision.short} ({escape(s.revision.ref)})" if s.revision else "-"
        last = f"{s.last_revision} ({s.last_operation})" if s.last_revision else "-"
        more = []
        if wide:
            rev = s.revision
            more = [rev.commit if rev else "-", escape(rev.repo) if rev else "-", str(s.drifted)]
            more.append(s.last_finished or "-")
        table.add_row(
            *([escape(s.cluster)] if by_cluster else []),
            escape(s.app),
            f"[{sync}]{s.sync_status}[/]",
            f"[{health}]{s.health}[/]",
            revision,
            last,
            s.last_result or "-",
            *more,
            escape(_one_line(s.message, console=console)),
        )
    console.print(table)


_KIND_NOTE = {
    ChangeKind.REMOVED_IN_GIT: " (removed from Git)",
    ChangeKind.ADDED_OUT_OF_BAND: " (added out of band)",
}


def _change_line(c: FieldChange) -> str:
    """``spec.replicas: git 3 live 5 (kubectl-scale, 2026-11-22T10:03:12Z)``."""
    line = f"{escape(c.path)}: git [green]{_value(c.desired)}[/] live [red]{_value(c.live)}[/]"
    line += _KIND_NOTE.get(c.kind, "")
    if c.manager:
        line += f" [dim]({escape(c.manager)}, {escape(c.time)})[/]"
    return line


_LINE_STYLE = {"+": "green", "-": "red", "@": "cyan"}


def print_unified(text: str, console: Console) -> None:
    for line in redact(text).splitlines():
        style = "bold" if line.startswith(("+++", "---")) else _LINE_STYLE.get(line[:1], "")
        console.print(f"      [{style}]{escape(line)}[/]" if style else f"      {escape(line)}")


def print_drift(reports: Sequence[DriftReport], console: Console, *, show_diff: bool = True) -> None:
    for r in reports:
        if r.failure is not None:
            console.print(f"[bold red]error:[/] {escape(r.app)}: {escape(redact(str(r.failure)))}")
            continue
        drifted = r.drifted
        health = f", health {r.health}" if r.health is not None else ""
        if not drifted:
            console.print(f"[green]✔[/] {escape(r.app)}: in sync{_revision(r)}{health}")
            continue
        counts = f"{len(drifted)} of {len(r.diffs)} objects differ"
        console.print(f"[yellow]≠[/] {escape(r.app)}: {counts}{_revision(r)}{health}")
        for d in drifted:
            by = f" [dim](by {escape(d.manager)}, {escape(d.time)})[/]" if d.manager else ""
            console.print(f"  [bold]{escape(str(d.key))}[/] [yellow]{d.status}[/]{by}")
            for c in d.changes:
                console.print(f"    {_change_line(c)}")
            if show_diff and d.unified:
                print_unified(d.unified, console)
