"""``completion``, ``version`` and ``init``: the shell, the versions, a new repository."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent import __version__
from agent.cli.base import ConfigOption, fail, load, note, options, out, target
from agent.exits import ExitCode

if TYPE_CHECKING:
    from agent.config import AgentConfig

PROG = "gitops-agent"
COMPLETE_VAR = "_GITOPS_AGENT_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


def completion(
    shell: Annotated[str, typer.Argument(metavar="SHELL", help="bash, zsh or fish.")],
) -> None:
    """Print the shell completion script for bash, zsh or fish."""
    if shell not in SHELLS:
        fail(f"completion: unknown shell {shell!r} (expected bash, zsh or fish)", ExitCode.USAGE)
    from typer._click.shell_completion import get_completion_class
    from typer._completion_classes import completion_init
    from typer.main import get_command

    from agent.cli.base import app

    completion_init()  # Typer's scripts, which complete options and their help too
    complete = get_completion_class(shell)
    if complete is None:  # pragma: no cover - all three are registered above
        fail(f"completion: {shell} is not supported")
    sys.stdout.write(complete(get_command(app), {}, PROG, COMPLETE_VAR).source() + "\n")


def version(
    config: ConfigOption = Path("agent.yaml"),
    output: Annotated[str, typer.Option("--output", "-o", help="text, json or yaml.")] = "text",
    client: Annotated[bool, typer.Option("--client", help="Do not ask the cluster.")] = False,
) -> None:
    """The agent's, Python's and the renderers' versions, and the cluster's.

    The cluster is the configuration's (or --kubeconfig/--context); without a
    configuration, or with --client, it is not asked.
    """
    from agent.render.engines import engine_versions

    found: dict[str, object] = {
        "agent": __version__,
        "python": platform.python_version(),
        "renderers": engine_versions(),
    }
    if not client:
        found["cluster"] = _cluster_version(config)
    if output == "json":
        sys.stdout.write(json.dumps(found, indent=2) + "\n")
    elif output == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(found, sort_keys=False))
    elif output == "text":
        out.print(f"gitops-agent {__version__}", markup=False)
        out.print(f"Python {found['python']}", markup=False)
        for name, v in engine_versions().items():
            out.print(f"renderer {name} {v}", markup=False)
        cluster = found.get("cluster")
        if isinstance(cluster, dict):
            out.print(f"cluster {cluster['version']} ({cluster['server']})", markup=False)
    else:
        fail(f"--output {output!r}: expected text, json or yaml", ExitCode.USAGE)


def _cluster_version(config: Path) -> dict[str, str] | None:
    """The cluster's server version, or why it is not known (never a failure:
    ``version`` answers what it can, as ``kubectl version`` does)."""
    from agent.cluster import connect, describe
    from agent.errors import AgentError

    given = options.kubeconfig or options.context or options.cluster
    if not config.is_file() and not given:
        return None
    try:
        cfg = target(load(config) if config.is_file() else _bare(), config)
        where = describe(cfg)
        cluster = connect(cfg)
        try:
            return {"server": where, "version": cluster.server_version()}
        finally:
            cluster.close()
    except AgentError as e:
        note(f"cluster version unknown: {e}")
        return {"server": "", "version": "unknown"}


def _bare() -> AgentConfig:
    from agent.config import parse_config

    return parse_config({}, "(no configuration)", Path.cwd())
