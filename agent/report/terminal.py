"""The terminal view (rich): a table per app and a one-line summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.models import Action, DriftReport, SyncResult
from agent.redact import redact

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


def print_sync(results: Sequence[SyncResult], console: Console) -> None:
    for r in results:
        if r.failure is not None and not r.changeset.entries:
            console.print(f"[bold red]error:[/] {escape(r.app)}: {escape(redact(str(r.failure)))}")
            continue
        console.print(f"[bold]{escape(r.app)}[/]{_revision(r)}")
        if r.changeset.entries:
            table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
            table.add_column("OBJECT")
            table.add_column("ACTION")
            for e in r.changeset.entries:
                action = f"[{_STYLE[e.action]}]{e.action}[/]"
                if e.error:
                    action += f" [dim]({escape(redact(e.error))})[/]"
                table.add_row(escape(str(e.key)), action)
            console.print(table)
        summary = ", ".join(f"{n} {a}" for a, n in r.changeset.summary().items()) or "no objects"
        recorded = f"; revision {r.record} recorded" if r.record else ""
        if r.ok:
            console.print(f"[green]✔[/] {escape(r.app)}: {summary}{recorded}")
        else:
            console.print(f"[red]✘[/] {escape(r.app)}: {summary}{recorded}")
            console.print(f"[bold red]error:[/] {escape(r.app)}: {escape(redact(str(r.failure)))}")
        console.print()


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
        if not drifted:
            console.print(f"[green]✔[/] {escape(r.app)}: in sync{_revision(r)}")
            continue
        console.print(
            f"[yellow]≠[/] {escape(r.app)}: {len(drifted)} of {len(r.diffs)} objects differ{_revision(r)}"
        )
        for d in drifted:
            console.print(f"  [bold]{escape(str(d.key))}[/] [yellow]{d.status}[/]")
            for c in d.changes:
                console.print(
                    f"    {escape(c.path)}: git [green]{_value(c.desired)}[/] live [red]{_value(c.live)}[/]"
                )
            if show_diff and d.unified:
                print_unified(d.unified, console)
