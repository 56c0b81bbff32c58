"""What every command shares: the Typer app, the consoles, the options, one
error line, and the session (configuration, apps, a reconcile context per cluster).

Commands load their stage lazily (``--help`` stays fast): a module here
imports only Typer, rich and the light parts of the agent.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from agent.cluster import connect, describe
from agent.errors import AgentError
from agent.exits import ExitCode, failure_exit
from agent.redact import redact

if TYPE_CHECKING:
    from agent.cluster import ClusterClient
    from agent.config import AgentConfig, Application
    from agent.fleet import Fleet
    from agent.sync.context import Context, Sharing
    from agent.sync.contexts import Contexts

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},  # -h as kubectl, helm, argocd, flux
    pretty_exceptions_enable=False,  # an unexpected exception is one error line: see main()
    help="Keep Kubernetes clusters equal to Git.",
)

# Not a terminal (a pipe, a file, a CI log): no width to fit, so nothing is
# folded or cut; kubectl does the same.
UNLIMITED = 100_000
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else UNLIMITED)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else UNLIMITED)


@dataclass
class Globals:
    """The options every command takes (before the command's name)."""

    kubeconfig: Path | None = None
    context: str | None = None
    cluster: str | None = None
    verbose: bool = False
    quiet: bool = False


options = Globals()


def note(message: str) -> None:
    """A line for people on standard error (not with --quiet): reports stay clean on stdout."""
    if not options.quiet:
        err.print(escape(redact(message)), markup=True)


def fail(message: str, code: int = ExitCode.ERROR) -> NoReturn:
    err.print(f"[bold red]error:[/] {redact(message)}", markup=True)
    raise typer.Exit(code)


def fail_with(error: AgentError) -> NoReturn:
    """An error before any change: exit 5 when the cluster could not be reached, else 3."""
    fail(str(error), failure_exit(error.failure()))


def load(config: Path) -> AgentConfig:
    from agent.config import load_config

    try:
        return load_config(config)
    except AgentError as e:
        fail(str(e))


@dataclass
class Session:
    """The configuration, the apps chosen and a reconcile Context for each
    cluster they go to (:class:`~agent.sync.contexts.Contexts`)."""

    config: AgentConfig
    apps: list[Application]
    contexts: Contexts
    fleet: Fleet | None = None  # resolved when the command chose from the whole fleet

    def context_of(self, app: Application) -> Context:
        """The Context of the cluster ``app`` goes to."""
        return self.contexts.of(app)

    @property
    def context(self) -> Context:
        """The Context of the first app's cluster (``default`` without apps)."""
        return self.contexts.get(self.apps[0].cluster if self.apps else None)

    @property
    def cluster(self) -> ClusterClient:
        """The ``default`` cluster's client, as the context sees it."""
        return self.contexts.get().cluster

    def where(self) -> str:
        """The clusters the apps go to, as the command's header named them."""
        names = clusters_of(self.config, self.apps)
        if names == ["default"]:
            return describe(self.config)
        return "; ".join(f"{n}: {described(self.config, n)}" for n in names)


def described(cfg: AgentConfig, name: str) -> str:
    """Which cluster ``name`` is, or why that cannot be said (its apps fail with it)."""
    try:
        return describe(cfg, name)
    except AgentError as e:
        return f"cannot be used: {e}"


def clusters_of(cfg: AgentConfig, apps: Sequence[Application]) -> list[str]:
    """The names of the clusters ``apps`` go to, in the configuration's order
    (``cluster:``'s alone when there are no apps)."""
    used = {a.cluster for a in apps}
    return [c.name for c in cfg.all_clusters() if c.name in used] or [cfg.cluster.name]


def _resolved(
    contexts: Contexts, names: Sequence[str] | None, selector: str | None, *, remember: bool, report: bool
) -> tuple[Fleet, list[Application]]:
    """The fleet (agent.yaml's apps, its AppSets', and the apps declared in
    their repositories) and the apps named or selected in it; what could not
    be read is noted (``report``: the command shows it itself), never fatal."""
    from agent.fleet.resolve import resolve
    from agent.fleet.select import no_match, parse_selector, select

    try:
        terms = parse_selector(selector) if selector is not None else ()
    except ValueError as e:
        fail(f"--selector: {e}", ExitCode.USAGE)
    fleet = resolve(contexts, remember=remember)
    for problem in () if report else fleet.problems:
        note(f"fleet: {problem}")
    chosen = select(fleet, names, terms)
    if terms and not chosen:
        raise no_match(terms, fleet)
    return fleet, chosen


def _needs_fleet(cfg: AgentConfig, apps: Sequence[str] | None, selector: str | None) -> bool:
    from agent.fleet.select import needs_fleet

    return needs_fleet(cfg, apps, selector)


@contextlib.contextmanager
def session(
    config: Path | AgentConfig,
    apps: Sequence[str] | None = None,
    *,
    shared: Sharing | None = None,
    fleet: bool = False,
    selector: str | None = None,
    remember: bool = False,
    report: bool = False,
) -> Iterator[Session]:
    """The configuration, the apps named (all by default) and a Context for
    each cluster they go to, closed afterwards.  With one cluster an error
    connecting to it is the command's error; with several, the apps on a
    cluster that cannot be connected to fail with it and the others go on.
    An AgentError (configuration, source, cluster ...), here or inside,
    becomes the command's one error line and exit 3 (5 when the cluster
    could not be reached).  ``shared``: the Contexts' view of each cluster
    (default: one listing for all when there are several apps).  ``fleet``:
    the apps are chosen from the resolved fleet (by name, and by
    ``selector``) when ``agent.yaml``'s own list cannot say (``remember``:
    keep what the AppSets made, for their deletion budgets; ``report``: the
    command shows the fleet's problems itself, else each is a note)."""
    from agent.sync.contexts import Contexts

    cfg = target(load(config) if isinstance(config, Path) else config, config)
    given: dict[str, ClusterClient] = {}
    resolving = fleet and _needs_fleet(cfg, apps, selector)
    try:
        selected = cfg.select(None if resolving or not apps else list(apps))
        names = clusters_of(cfg, selected)
        if len(names) == 1:  # the header says which cluster (never a credential)
            note(
                f"cluster: {describe(cfg)}"
                if names == ["default"]
                else f"cluster {names[0]}: {describe(cfg, names[0])}"
            )
            given[names[0]] = connect(cfg, name=names[0])
        else:  # each connected when its first app needs it; one that cannot be fails its apps
            for name in names:
                note(f"cluster {name}: {described(cfg, name)}")
    except AgentError as e:
        fail_with(e)
    sharing = shared if shared is not None else ("once" if len(selected) > 1 or resolving else None)
    contexts = Contexts(cfg, shared=sharing, given=given)
    try:
        found = None
        if resolving:
            found, selected = _resolved(contexts, apps, selector, remember=remember, report=report)
            for name in clusters_of(cfg, selected):  # a cluster only apps declared in Git go to
                if name not in names:
                    note(f"cluster {name}: {described(cfg, name)}")
        yield Session(cfg, selected, contexts, found)
    except AgentError as e:
        fail_with(e)
    finally:  # the shared views, and the clusters connected
        contexts.close()
        for client in given.values():
            client.close()


def with_declared(cfg: AgentConfig, name: str) -> AgentConfig:
    """``cfg``, with the app ``name`` among its apps when Git declares it
    (an app-of-apps' child, an AppSet's app): resolving the fleet finds it,
    or says it is nowhere (the command's one error)."""
    if any(a.name == name for a in cfg.apps):
        return cfg
    with session(cfg, [name], fleet=True) as s:
        found = s.apps[0]
    return cfg.model_copy(update={"apps": [*cfg.apps, found]})


def target(cfg: AgentConfig, source: Path | AgentConfig) -> AgentConfig:
    """The configuration with the cluster the global options name (--kubeconfig,
    --context, --cluster over the file's ``cluster:``), and a note when
    ``KUBECONFIG`` is set but nothing chose a cluster: the emulated one is used."""
    if options.kubeconfig is None and options.context is None and options.cluster is None:
        if "cluster" not in cfg.model_fields_set and os.environ.get("KUBECONFIG"):
            where = f"{source} names" if isinstance(source, Path) else "the configuration names"
            note(
                f"note: KUBECONFIG is set, but {where} no cluster: using the embedded emulated cluster."
                ' To use KUBECONFIG\'s, pass --kubeconfig "$KUBECONFIG" (or --context NAME),'
                " or set cluster.kubeconfig in the configuration."
            )
        return cfg
    from agent.config import Kubeconfig

    chosen = cfg.cluster.kubeconfig or Kubeconfig()
    path = str(options.kubeconfig.resolve()) if options.kubeconfig is not None else chosen.path
    kubeconfig = Kubeconfig(
        path=path, context=options.context or chosen.context, cluster=options.cluster or chosen.cluster
    )
    update = {"kubeconfig": kubeconfig, "emulated": None, "in_cluster": False}
    return cfg.model_copy(update={"cluster": cfg.cluster.model_copy(update=update)})


class Output(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"


class Listing(StrEnum):
    """``-o`` of the commands that list: kubectl's formats, and documents."""

    text = "text"
    wide = "wide"
    name = "name"
    json = "json"
    yaml = "yaml"
    markdown = "markdown"
    html = "html"


ListingOption = Annotated[Listing, typer.Option("--output", "-o", help="Output format.")]
ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", envvar="GITOPS_AGENT_CONFIG", help="Agent configuration file.")
]


def complete_apps(ctx: typer.Context, incomplete: str) -> list[str]:
    """The app names for shell completion: the configuration's, then those
    of the fleet last resolved here (:mod:`agent.fleet.known`; no Git or
    cluster is asked).  Never an error, never a wait."""
    config = ctx.params.get("config") or Path(os.environ.get("GITOPS_AGENT_CONFIG", "agent.yaml"))
    try:
        from agent.config import load_config
        from agent.fleet.known import known

        names = known(load_config(config))
    except (AgentError, OSError):
        return []
    return [n for n in names if n.startswith(incomplete)]


SelectorOption = Annotated[
    str | None,
    typer.Option(
        "--selector",
        "-l",
        metavar="KEY=VALUE[,...]",
        help="Only the apps whose labels match (key=value, key!=value, key, !key; as kubectl -l).",
    ),
]
AppsArgument = Annotated[
    list[str] | None, typer.Argument(help="Apps to act on (default: all).", autocompletion=complete_apps)
]
OutputOption = Annotated[Output, typer.Option("--output", "-o", help="Report format.")]
AppArgument = Annotated[str, typer.Argument(metavar="APP", help="The app.", autocompletion=complete_apps)]


TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        min=0.001,
        help="How long to wait for health (default: each app's healthTimeoutSeconds).",
    ),
]


def with_timeout(app_: Application, timeout: float | None) -> Application:
    """The app with ``--timeout`` as its health timeout (as helm's --timeout)."""
    if timeout is None:
        return app_
    policy = app_.sync_policy.model_copy(update={"health_timeout_seconds": timeout})
    return app_.model_copy(update={"sync_policy": policy})


def write(output: Output, show: Callable[[Console], None], document: Callable[[str], str]) -> None:
    """The text report on the terminal, or a document on standard output."""
    if output is Output.text:
        show(out)
    else:
        sys.stdout.write(document(output.value))
