"""``manifests APP [--revision N]`` and ``diff APP --from REV --to REV``:
what a revision applied, and what changed between two (``helm get manifest
--revision``, ``argocd app manifests --revision``, ``helm diff revision``).

A REV is a recorded revision's number (read from the records in the
cluster) or a Git branch, tag or commit (rendered from the app's source,
as a sync would render it); the live objects are never read.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli.base import AppArgument, ConfigOption, fail, load, session, target
from agent.errors import AgentError
from agent.exits import ExitCode

if TYPE_CHECKING:
    from agent.config import AgentConfig
    from agent.sync.record import RevisionRecord

_NUMBER = re.compile(r"\d{1,6}")  # a revision number; longer digit strings are commits


def manifests(
    app_name: AppArgument,
    revision: Annotated[
        int | None, typer.Option("--revision", metavar="N", help="Revision number (default: the last).")
    ] = None,
    config: ConfigOption = Path("agent.yaml"),
    output: Annotated[str, typer.Option("--output", "-o", metavar="yaml|json", help="Format.")] = "yaml",
) -> None:
    """Print the manifests a recorded revision applied (Secret values masked)."""
    from agent.diff.revisions import shown
    from agent.render.documents import dump_yaml_stream

    if output not in ("yaml", "json"):
        fail(f"--output {output!r}: expected yaml or json", ExitCode.USAGE)
    with session(config, [app_name], fleet=True) as s:
        record = _record(s.context_of(s.apps[0]).records().history(s.apps[0].name), app_name, revision)
    objects = [shown(o) for o in record.manifests]
    if output == "json":
        sys.stdout.write(json.dumps({"app": app_name, "revision": record.number, "items": objects}, indent=2))
        sys.stdout.write("\n")
        return
    header = f"revision {record.number} of {app_name}: commit {record.commit}"
    header += f" ({record.operation}, {record.result})"
    sys.stdout.write(dump_yaml_stream(objects, [header] + [""] * (len(objects) - 1)))


def _record(history: list[RevisionRecord], app: str, number: int | None) -> RevisionRecord:
    if not history:
        fail(f"{app}: no revisions recorded yet")
    if number is None:
        return history[-1]
    for r in history:
        if r.number == number:
            return r
    kept = ", ".join(str(r.number) for r in history)
    fail(f"{app}: no revision {number} recorded (kept: {kept})")


def diff_revisions(app_name: str, old: str, new: str, config: Path, output: str) -> None:
    """The difference between two revisions or commits of one app."""
    from agent.diff.revisions import compare_manifests

    cfg = target(load(config), config)
    if _NUMBER.fullmatch(old) or _NUMBER.fullmatch(new):
        with session(cfg, [app_name]) as s:
            history = s.context_of(s.apps[0]).records().history(s.apps[0].name)
    else:
        history = []
    before, after = _objects(cfg, app_name, old, history), _objects(cfg, app_name, new, history)
    changes = compare_manifests(before, after, old, new)
    if output == "json":
        doc = {"app": app_name, "from": old, "to": new, "objects": [c.to_dict() for c in changes]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif output == "text":
        from agent.cli.base import out
        from agent.report.terminal import print_unified

        if not changes:
            out.print(f"= {app_name}: {old} and {new} render the same objects", markup=False)
        for c in changes:
            out.print(f"{c.object} {c.status}", markup=False)
            print_unified(c.diff, out)
    else:
        fail(f"--output {output!r} with --from/--to: expected text or json", ExitCode.USAGE)
    raise typer.Exit(ExitCode.DRIFT if changes else ExitCode.OK)


def _objects(cfg: AgentConfig, app: str, rev: str, history: list[RevisionRecord]) -> list[Any]:
    if _NUMBER.fullmatch(rev):
        return list(_record(history, app, int(rev)).manifests)
    from agent.render import render
    from agent.sync.render import target_request

    try:
        request = target_request(app, lambda: cfg, rev, release=None, namespace=None, validate=None)
        return [m.obj for m in render(request).manifests]
    except AgentError as e:
        fail(f"{app} at {rev}: {e}")
