"""``config schema`` and ``config validate FILE``: the configuration's JSON
Schema for editors, and a check of a file without touching any cluster."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from agent.cli.base import fail, out
from agent.errors import AgentError

group = typer.Typer(no_args_is_help=True, help="The configuration file: its schema, and checking one.")


@group.command("schema")
def schema() -> None:
    """Print the JSON Schema of agent.yaml (generated from the agent's models)."""
    from agent.config.schema import schema_text

    sys.stdout.write(schema_text())


@group.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="Configuration files to check.")],
) -> None:
    """Check configuration files as the agent loads them: YAML, every field,
    ${VAR} references, paths; one error line naming the file and field, exit 3.
    Nothing is fetched and no cluster is asked."""
    from agent.config import load_config

    failed = False
    for path in files:
        try:
            cfg = load_config(path)
        except AgentError as e:
            failed = True
            out.print(f"[bold red]error:[/] {e}", markup=True, highlight=False)
            continue
        names = ", ".join(a.name for a in cfg.apps) or "none"
        where = f"cluster: {cfg.cluster.kind}"
        if cfg.clusters:  # several: each by name, with its kind
            where = "clusters: " + ", ".join(f"{c.name} ({c.kind})" for c in cfg.all_clusters())
        out.print(f"{path}: valid ({len(cfg.apps)} apps: {names}; {where})", markup=False)
    if failed:
        fail("some configuration files are not valid")
