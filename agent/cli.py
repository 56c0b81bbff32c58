"""The command line: ``gitops-agent sync|diff|render|status|history|rollback|run|emulator``.

Commands only: each loads the configuration and connects through the one
session helper (:func:`_session`), calls a stage, hands the result to
:mod:`agent.report`, and leaves with the exit code :mod:`agent.exits`
decides from the result (0 success, 1 drift, 2 a failed change or
rollback, 3 an error before any change, 4 an internal error: the table
is there).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from agent import __version__, emulator
from agent.cluster import connect
from agent.errors import AgentError
from agent.exits import ExitCode, diff_exit, internal_error, leave, rollback_exit, status_exit, sync_exit
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


# -- the session: configuration, apps, cluster ----------------------------------------
def _load(config: Path) -> AgentConfig:
    from agent.config import load_config

    try:
        return load_config(config)
    except AgentError as e:
        fail(str(e))


@dataclass
class _Session:
    config: AgentConfig
    apps: list[Application]
    cluster: ClusterClient

    @cached_property
    def context(self) -> Context:
        """A reconcile context on the session's cluster (made when first used)."""
        from agent.sync.context import Context

        return Context.create(self.config, self.cluster, shared="once" if len(self.apps) > 1 else None)


@contextlib.contextmanager
def _session(config: Path | AgentConfig, apps: Sequence[str] | None = None) -> Iterator[_Session]:
    """The configuration, the apps named (all by default) and a connection
    to the cluster, closed afterwards.  An AgentError (configuration,
    source, cluster ...), here or inside, becomes the command's one error
    line and exit 3."""
    cfg = _load(config) if isinstance(config, Path) else config
    try:
        selected = cfg.select(list(apps) if apps else None)
        cluster = connect(cfg)
    except AgentError as e:
        fail(str(e))
    session = _Session(cfg, selected, cluster)
    try:
        yield session
    except AgentError as e:
        fail(str(e))
    finally:
        (session.context.cluster if "context" in session.__dict__ else cluster).close()


# -- commands -------------------------------------------------------------------------
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
_Explain = Annotated[Path, typer.Option("--explain", help="A YAML file of objects to judge.")]
_Json = Annotated[bool, typer.Option("--json", help="One JSON list.")]


def _write(output: Output, show: Callable[[Console], None], document: Callable[[str], str]) -> None:
    """The text report on the terminal, or a document on standard output."""
    if output is Output.text:
        show(out)
    else:
        sys.stdout.write(document(output.value))


def _version(value: bool) -> None:
    if value:
        out.print(f"gitops-agent {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    pass


@app.command()
def sync(
    apps: AppsArgument = None,
    config: ConfigOption = Path("agent.yaml"),
    *,
    prune: Annotated[
        bool | None, typer.Option("--prune/--no-prune", help="Override the apps' prune policy.")
    ] = None,
    revision: Annotated[
        str | None, typer.Option("--revision", help="Sync this branch, tag or commit.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Apply a commit that is held after a rollback.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Send every change with dryRun=All: checked, not made.")
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """Apply Git to the cluster and print what changed."""
    from agent.report import print_sync, sync_document, sync_progress
    from agent.sync.fleet import each_app
    from agent.sync.pipeline import reconcile

    with _session(config, apps) as s, sync_progress(err, enabled=output is Output.text) as progress:
        shown = {a.name: progress.for_app(a.name) for a in s.apps}
        results = each_app(
            s.apps,
            lambda a: reconcile(
                s.context, a, ref=revision, prune=prune, force=force, dry_run=dry_run, progress=shown[a.name]
            ),
            s.context.source,
        )
    _write(output, lambda console: print_sync(results, console), lambda fmt: sync_document(results, fmt))
    raise typer.Exit(sync_exit(results))


@app.command()
def diff(
    apps: AppsArgument = None,
    config: ConfigOption = Path("agent.yaml"),
    revision: Annotated[
        str | None, typer.Option("--revision", help="Compare this branch, tag or commit.")
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """Show how the cluster differs from Git; exit 1 when it does."""
    from agent.report import drift_document, print_drift
    from agent.sync.fleet import each_app
    from agent.sync.status import drift

    with _session(config, apps) as s:
        reports = each_app(s.apps, lambda a: drift(s.context, a, ref=revision), s.context.source)
    _write(output, lambda console: print_drift(reports, console), lambda fmt: drift_document(reports, fmt))
    raise typer.Exit(diff_exit(reports))


@app.command()
def status(
    apps: AppsArgument = None,
    config: ConfigOption = Path("agent.yaml"),
    output: OutputOption = Output.text,
) -> None:
    """Sync status, health, revision and last result of each app."""
    from agent.report import print_status
    from agent.report.documents import status_document
    from agent.sync.status import status as app_status

    with _session(config, apps) as s:
        statuses = [app_status(s.context, a) for a in s.apps]
    if output is Output.json:
        sys.stdout.write(status_document(statuses))
    else:  # Markdown and HTML: the terminal's table
        print_status(statuses, out)
    raise typer.Exit(status_exit(statuses))


@app.command()
def history(
    app_name: AppArgument, config: ConfigOption = Path("agent.yaml"), output: OutputOption = Output.text
) -> None:
    """List the revisions recorded for an app, oldest first."""
    from agent.report import print_history
    from agent.report.documents import history_document

    with _session(config, [app_name]) as s:
        records = s.context.records().history(s.apps[0].name)
    if output is Output.json:
        sys.stdout.write(history_document(app_name, records))
    else:
        print_history(app_name, records, out)


@app.command()
def rollback(
    app_name: AppArgument,
    to: Annotated[
        int | None,
        typer.Option("--to", help="Revision number (default: the last healthy one before the current)."),
    ] = None,
    config: ConfigOption = Path("agent.yaml"),
    output: OutputOption = Output.text,
) -> None:
    """Return an app to an earlier revision and hold it there until its
    source moves to a new commit."""
    from agent.report import print_rollback
    from agent.report.documents import rollback_document
    from agent.sync.rollback import rollback_by_hand

    with _session(config, [app_name]) as s:
        result = rollback_by_hand(s.context, s.apps[0], to)
    if output is Output.json:
        sys.stdout.write(rollback_document(app_name, result))
    else:
        print_rollback(app_name, result, out)
    raise typer.Exit(rollback_exit(result))


@app.command("render")
def render_cmd(  # noqa: PLR0913, PLR0917 - typer makes each option a parameter
    target: Annotated[str, typer.Argument(help="An app of the configuration, or a chart / YAML folder.")],
    config: ConfigOption = Path("agent.yaml"),
    values: Annotated[
        list[str] | None, typer.Option("--values", "-f", help="Values file, over the chart's and the app's.")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="key.path=value (Helm syntax), over everything.")
    ] = None,
    set_string: Annotated[
        list[str] | None, typer.Option("--set-string", help="key.path=value, the value kept a string.")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Default: the app's, or default.")
    ] = None,
    release: Annotated[
        str | None, typer.Option("--release", help="Default: the app's name, or the folder's.")
    ] = None,
    revision: Annotated[
        str | None, typer.Option("--revision", help="App mode: render this branch, tag or commit.")
    ] = None,
    kube_version: Annotated[
        str | None, typer.Option("--kube-version", help="Kubernetes version for capabilities (default 1.33).")
    ] = None,
    api_versions: Annotated[
        list[str] | None,
        typer.Option("--api-versions", "-a", help="Extra API versions for capabilities (group/version)."),
    ] = None,
    validate: Annotated[
        bool | None,
        typer.Option("--validate/--no-validate", help="Check objects against the Kubernetes schemas."),
    ] = None,
) -> None:
    """Print the manifests an app or a folder renders to (like helm template).

    The manifests go to standard output; the chart's NOTES.txt, if any, to
    standard error."""
    from agent.render import Capabilities, load_values_file, parse_set, render
    from agent.render.manifests import to_yaml_stream
    from agent.sync.render import target_request

    try:
        overrides = [load_values_file(Path(v), v) for v in values or ()]
        overrides += [parse_set(set_ or []), parse_set(set_string or [], as_string=True)]
        capabilities = Capabilities.of(kube_version, api_versions or ())
        req = target_request(
            target, lambda: _load(config), revision, release=release, namespace=namespace, validate=validate
        )
        result = render(replace(req, overrides=overrides, capabilities=capabilities))
    except AgentError as e:
        fail(str(e))
        return
    sys.stdout.write(to_yaml_stream(result.manifests))
    sys.stdout.flush()
    if result.notes:
        err.print(f"NOTES:\n{result.notes}", markup=False)


@app.command("health")
def health(explain: _Explain, config: ConfigOption = Path("agent.yaml"), as_json: _Json = False) -> None:
    """Each object's health, the rule that decided it and why (the config's rules first)."""
    from agent.report.explain import health_command

    health_command(explain, config, as_json)


@app.command()
def run(
    config: ConfigOption = Path("agent.yaml"),
    log_format: Annotated[
        str | None, typer.Option("--log-format", help="text or json (default: daemon.logFormat).")
    ] = None,
) -> None:
    """Run as a service: poll, take webhooks, serve status and metrics (SIGTERM stops)."""
    from agent.daemon import logs
    from agent.daemon.service import run as serve

    cfg = _load(config)
    settings = cfg.daemon
    if log_format not in (None, "text", "json"):
        fail(f"--log-format {log_format!r}: expected text or json")
    logs.setup(log_format or settings.log_format, settings.log_level)
    with _session(cfg) as s:
        code = serve(s.config, s.cluster)
    raise typer.Exit(code)


# -- emulator -----------------------------------------------------------------------
def _emulator_path(config: Path) -> Path:
    cfg = _load(config)
    if cfg.cluster.kind != "emulated":
        fail(f"{config}: the configured cluster is not the emulated one (use --db PATH)")
    return cfg.resolve(cfg.cluster.emulated.path if cfg.cluster.emulated else ".gitops-agent/cluster.db")


app.add_typer(emulator.command_group(_emulator_path), name="emulator")


def main() -> None:
    os.environ.setdefault("GIT_TERMINAL_PROMPT", "0")
    # A sync allocates hundreds of thousands of small objects (imports, the
    # rendered objects, the live ones) and frees them by reference counting;
    # at the default threshold of 700 the cycle collector ran some 300 times
    # in a sync of 1,000 objects, a tenth of its time, and found next to
    # nothing.  Young collections now run every 20,000 allocations.
    gc.set_threshold(20_000, 50, 100)
    leave(run_command())


def run_command(args: Sequence[str] | None = None) -> object:
    """The command's exit code; an exception no stage turned into an error
    is one ``error:`` line and exit 4 (:func:`agent.exits.internal_error`)."""
    try:
        app(args=list(args) if args is not None else None)
    except SystemExit as e:
        return e.code
    except Exception as e:  # the last line of defence: no traceback reaches the user
        return internal_error(e)
    return 0


if __name__ == "__main__":
    main()
