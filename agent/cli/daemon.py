"""``run`` (the daemon) and the ``emulator`` command group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent import emulator
from agent.cli.base import ConfigOption, fail, load, note, session
from agent.exits import ExitCode


def run(
    config: ConfigOption = Path("agent.yaml"),
    log_format: Annotated[
        str | None, typer.Option("--log-format", help="text or json (default: daemon.logFormat).")
    ] = None,
) -> None:
    """Run as a service: poll, take webhooks, serve status and metrics (SIGTERM stops)."""
    from agent.daemon import logs
    from agent.daemon.arenas import limit_arenas
    from agent.daemon.service import run as serve

    limit_arenas()  # before the first thread starts
    cfg = load(config)
    settings = cfg.daemon
    if log_format not in (None, "text", "json"):
        fail(f"--log-format {log_format!r}: expected text or json", ExitCode.USAGE)
    logs.setup(log_format or settings.log_format, settings.log_level)
    with session(cfg, shared="follow") as s:  # one watch per kind and cluster, for all its apps
        code = serve(s.config, s.contexts, config)  # the file is followed while running
    raise typer.Exit(code)


# -- emulator -----------------------------------------------------------------------
def _emulator_path(config: Path) -> Path:
    cfg = load(config)
    if cfg.cluster.kind != "emulated":
        fail(f"{config}: the configured cluster is not the emulated one (use --db PATH)")
    path = cfg.resolve(cfg.cluster.emulated.path if cfg.cluster.emulated else ".gitops-agent/cluster.db")
    note(f"cluster: emulated cluster at {path}")  # the header every command gives (--db names it itself)
    return path


def emulator_group() -> typer.Typer:
    return emulator.command_group(_emulator_path)
