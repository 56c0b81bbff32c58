"""What every command shares: the Typer app, the consoles, the options, one
error line, and the session (configuration, apps, cluster).

Commands load their stage lazily (``--help`` stays fast): a module here
imports only Typer, rich and the light parts of the agent.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from agent.cluster import connect
from agent.errors import AgentError
from agent.exits import ExitCode
from agent.redact import redact

if TYPE_CHECKING:
    from agent.cluster import ClusterClient
    from agent.config import AgentConfig, Application
    from agent.sync.context import Context

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,  # an unexpected exception is one error line: see main()
    help="Keep Kubernetes clusters equal to Git.",
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = ExitCode.ERROR) -> NoReturn:
    err.print(f"[bold red]error:[/] {redact(message)}", markup=True)
    raise typer.Exit(code)


def load(config: Path) -> AgentConfig:
    from agent.config import load_config

    try:
        return load_config(config)
    except AgentError as e:
        fail(str(e))


@dataclass
class Session:
    config: AgentConfig
    apps: list[Application]
    cluster: ClusterClient

    @cached_property
    def context(self) -> Context:
        """A reconcile context on the session's cluster (made when first used)."""
        from agent.sync.context import Context

        return Context.create(self.config, self.cluster)


@contextlib.contextmanager
def session(config: Path | AgentConfig, apps: Sequence[str] | None = None) -> Iterator[Session]:
    """The configuration, the apps named (all by default) and a connection
    to the cluster, closed afterwards.  An AgentError (configuration,
    source, cluster ...), here or inside, becomes the command's one error
    line and exit 3."""
    cfg = load(config) if isinstance(config, Path) else config
    try:
        selected = cfg.select(list(apps) if apps else None)
        cluster = connect(cfg)
    except AgentError as e:
        fail(str(e))
    try:
        yield Session(cfg, selected, cluster)
    except AgentError as e:
        fail(str(e))
    finally:
        cluster.close()


class Output(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"


ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", envvar="GITOPS_AGENT_CONFIG", help="Agent configuration file.")
]
AppsArgument = Annotated[list[str] | None, typer.Argument(help="Apps to act on (default: all).")]
OutputOption = Annotated[Output, typer.Option("--output", "-o", help="Report format.")]
AppArgument = Annotated[str, typer.Argument(metavar="APP", help="The app.")]


def write(output: Output, show: Callable[[Console], None], document: Callable[[str], str]) -> None:
    """The text report on the terminal, or a document on standard output."""
    if output is Output.text:
        show(out)
    else:
        sys.stdout.write(document(output.value))
