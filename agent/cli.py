"""The command line: ``gitops-agent sync|diff|render|status|history|rollback|run|emulator``.

Exit codes:
  0  success (sync: every app synced; diff: no drift; status: all synced and healthy)
  1  diff: drift found; status: an app is out of sync or not healthy
  2  sync: a change failed (and was rolled back where possible), or the commit is
     held after a rollback; rollback: the rollback failed
  3  error before any change: configuration, source, render, plan, cluster access
"""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console

from agent import __version__
from agent.cluster import connect
from agent.cluster.base import ClusterError
from agent.config import AgentConfig, load_config
from agent.errors import AgentError, ConfigError
from agent.models import Stage
from agent.redact import redact

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Keep Kubernetes clusters equal to Git.",
)
emulator_app = typer.Typer(no_args_is_help=True, help="Look at and change the embedded emulated cluster.")
app.add_typer(emulator_app, name="emulator")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_DRIFT = 1
EXIT_SYNC_FAILED = 2
EXIT_ERROR = 3
_EARLY_STAGES = {Stage.CONFIG, Stage.SOURCE, Stage.RENDER, Stage.PLAN, Stage.CLUSTER}


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


def fail(message: str, code: int = EXIT_ERROR) -> None:
    err.print(f"[bold red]error:[/] {redact(message)}", markup=True)
    raise typer.Exit(code)


def _load(config: Path) -> AgentConfig:
    try:
        return load_config(config)
    except ConfigError as e:
        fail(str(e))
        raise  # unreachable


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
    prune: Annotated[
        bool | None, typer.Option("--prune/--no-prune", help="Override the apps' prune policy.")
    ] = None,
    revision: Annotated[
        str | None, typer.Option("--revision", help="Sync this branch, tag or commit.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Apply a commit that is held after a rollback.")
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """Apply Git to the cluster and print what changed."""
    from agent.report import print_sync, sync_document
    from agent.sync.engine import Context, reconcile

    cfg = _load(config)
    try:
        selected = cfg.select(apps)
        cluster = connect(cfg)
    except (ConfigError, ClusterError) as e:
        fail(str(e))
        return
    try:
        ctx = Context.create(cfg, cluster)
        results = [reconcile(ctx, a, ref=revision, prune=prune, force=force) for a in selected]
    finally:
        cluster.close()
    if output is Output.text:
        print_sync(results, out)
    else:
        sys.stdout.write(sync_document(results, output.value))
    raise typer.Exit(_sync_exit_code(results))


def _sync_exit_code(results: list[Any]) -> int:
    """0 all synced; 2 a change failed (rolled back or not) or a commit is
    held after a rollback; 3 every failure came before any change."""
    failed = [r for r in results if not r.ok]
    if not failed:
        return 0
    if all(r.failure is not None and r.failure.stage in _EARLY_STAGES for r in failed):
        return EXIT_ERROR
    return EXIT_SYNC_FAILED


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
    from agent.sync.engine import Context, drift

    cfg = _load(config)
    try:
        selected = cfg.select(apps)
        cluster = connect(cfg)
    except (ConfigError, ClusterError) as e:
        fail(str(e))
        return
    try:
        ctx = Context.create(cfg, cluster)
        reports = [drift(ctx, a, ref=revision) for a in selected]
    finally:
        cluster.close()
    if output is Output.text:
        print_drift(reports, out)
    else:
        sys.stdout.write(drift_document(reports, output.value))
    if any(r.failure for r in reports):
        raise typer.Exit(EXIT_ERROR)
    if any(r.drifted for r in reports):
        raise typer.Exit(EXIT_DRIFT)


def _context(config: Path) -> tuple[Any, Any]:
    from agent.sync.engine import Context

    cfg = _load(config)
    try:
        cluster = connect(cfg)
    except (ConfigError, ClusterError) as e:
        fail(str(e))
        raise
    return cfg, Context.create(cfg, cluster)


@app.command()
def status(
    apps: AppsArgument = None,
    config: ConfigOption = Path("agent.yaml"),
    output: OutputOption = Output.text,
) -> None:
    """Sync status, health, revision and last result of each app."""
    from agent.report import print_status
    from agent.sync.engine import status as app_status

    cfg, ctx = _context(config)
    try:
        selected = cfg.select(apps)
        statuses = [app_status(ctx, a) for a in selected]
    except ConfigError as e:
        fail(str(e))
        return
    finally:
        ctx.cluster.close()
    if output is Output.json:
        doc = {
            "schemaVersion": "gitops-agent.io/report/v1",
            "kind": "StatusReport",
            "apps": [s.to_dict() for s in statuses],
        }
        sys.stdout.write(redact(json.dumps(doc, indent=2)) + "\n")
    else:
        print_status(statuses, out)
    if any(s.sync_status.value != "Synced" or s.health.label != "Healthy" for s in statuses):
        raise typer.Exit(EXIT_DRIFT)


@app.command()
def history(
    app_name: Annotated[str, typer.Argument(metavar="APP", help="The app.")],
    config: ConfigOption = Path("agent.yaml"),
    output: OutputOption = Output.text,
) -> None:
    """List the revisions recorded for an app, oldest first."""
    from agent.report import print_history

    cfg, ctx = _context(config)
    try:
        application = cfg.app(app_name)
        records = ctx.records().history(application.name)
    except AgentError as e:
        fail(str(e))
        return
    finally:
        ctx.cluster.close()
    if output is Output.json:
        rows = [{k: v for k, v in r.to_json().items() if k != "manifests"} for r in records]
        doc = {
            "schemaVersion": "gitops-agent.io/report/v1",
            "kind": "History",
            "app": app_name,
            "revisions": rows,
        }
        sys.stdout.write(redact(json.dumps(doc, indent=2)) + "\n")
    else:
        print_history(app_name, records, out)


@app.command()
def rollback(
    app_name: Annotated[str, typer.Argument(metavar="APP", help="The app.")],
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
    from agent.sync.rollback import rollback_by_hand

    cfg, ctx = _context(config)
    try:
        application = cfg.app(app_name)
        result = rollback_by_hand(ctx, application, to)
    except AgentError as e:
        fail(str(e))
        return
    finally:
        ctx.cluster.close()
    if output is Output.json:
        sys.stdout.write(redact(json.dumps({"app": app_name, **result.to_dict()}, indent=2)) + "\n")
    else:
        print_rollback(app_name, result, out)
    if not result.ok:
        raise typer.Exit(EXIT_SYNC_FAILED)


def _parse_set(items: list[str]) -> dict[str, Any]:
    from agent.render.chart import deep_merge

    values: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            fail(f"--set {item!r}: expected key.path=value")
        value: Any = yaml.safe_load(raw) if raw else ""
        for part in reversed(key.split(".")):
            value = {part: value}
        values = deep_merge(values, value)
    return values


@app.command("render")
def render_cmd(
    target: Annotated[str, typer.Argument(help="An app of the configuration, or a chart / YAML folder.")],
    config: ConfigOption = Path("agent.yaml"),
    values: Annotated[
        list[str] | None, typer.Option("--values", "-f", help="Values file (folder mode).")
    ] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="key.path=value (folder mode).")] = None,
    namespace: Annotated[str, typer.Option("--namespace", "-n")] = "default",
    release: Annotated[str | None, typer.Option("--release")] = None,
) -> None:
    """Print the manifests an app or a folder renders to (like helm template)."""
    from agent.render import Release, RenderRequest, render
    from agent.render.chart import deep_merge
    from agent.source import GitSource

    folder = Path(target)
    try:
        if folder.is_dir():
            req = RenderRequest(
                root=folder.resolve(),
                path=".",
                label=target,
                release=Release(release or folder.resolve().name, namespace),
                values_files=[str(Path(v).resolve()) for v in values or ()],
                values=_parse_set(set_ or []),
            )
        else:
            cfg = _load(config)
            application = cfg.app(target)
            checkout = GitSource(cfg.resolve(cfg.state_dir)).checkout(
                cfg.repo_location(application), application.revision
            )
            root = checkout.root
            req = RenderRequest(
                root=root,
                path=application.path,
                label=f"{application.name}: {application.path}",
                release=Release(application.name, application.namespace),
                values_files=application.values_files,
                values=deep_merge(application.values, _parse_set(set_ or [])),
            )
        result = render(req)
    except AgentError as e:
        fail(str(e))
        return
    docs = [m.obj for m in result.manifests]
    sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False, explicit_start=True))


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
    try:
        cluster = connect(cfg)
    except (ConfigError, ClusterError) as e:
        fail(str(e))
        return
    raise typer.Exit(serve(cfg, cluster))


# -- emulator -----------------------------------------------------------------------
def _emulator(config: Path, db: Path | None) -> Any:
    from agent.cluster.emulator import EmulatedCluster

    if db is not None:
        return EmulatedCluster(db)
    cfg = _load(config)
    if cfg.cluster.kind != "emulated":
        fail(f"{config}: the configured cluster is not the emulated one (use --db PATH)")
    path = cfg.cluster.emulated.path if cfg.cluster.emulated else ".gitops-agent/cluster.db"
    return EmulatedCluster(cfg.resolve(path))


def _kind(name: str) -> tuple[str, str]:
    from agent.kinds import BUILTIN

    lowered = name.lower()
    for t in BUILTIN:
        if lowered in (t.kind.lower(), t.plural, *t.short_names) or lowered == f"{t.plural}.{t.group}":
            return t.api_version, t.kind
    fail(f"unknown kind {name!r} (try deployment, service, configmap, ...)")
    raise AssertionError


DbOption = Annotated[
    Path | None, typer.Option("--db", help="Emulated cluster database (default: from config).")
]
NsOption = Annotated[str, typer.Option("--namespace", "-n")]


@emulator_app.command("get")
def emulator_get(
    kind: str,
    name: Annotated[str | None, typer.Argument()] = None,
    namespace: NsOption = "",
    output: Annotated[str, typer.Option("--output", "-o", help="name, yaml or json")] = "name",
    config: ConfigOption = Path("agent.yaml"),
    db: DbOption = None,
) -> None:
    """Print objects of the emulated cluster."""
    api_version, k = _kind(kind)
    cluster = _emulator(config, db)
    try:
        if name:
            obj = cluster.get(api_version, k, name, namespace or "default")
            if obj is None:
                fail(f'{k} "{name}" not found', 1)
            items = [obj]
        else:
            items = cluster.list(api_version, k, namespace)
    except ClusterError as e:
        fail(str(e), 1)
        return
    finally:
        cluster.close()
    if output == "json":
        sys.stdout.write(json.dumps(items[0] if name else items, indent=2) + "\n")
    elif output == "yaml":
        sys.stdout.write(yaml.safe_dump(items[0] if name else items, sort_keys=False))
    else:
        for o in items:
            ns = o["metadata"].get("namespace")
            out.print(f"{k.lower()}/{o['metadata']['name']}" + (f" (namespace {ns})" if ns else ""))


@emulator_app.command("patch")
def emulator_patch(
    kind: str,
    name: str,
    patch: Annotated[str, typer.Option("--patch", "-p", help="JSON merge patch (RFC 7386).")],
    namespace: NsOption = "default",
    config: ConfigOption = Path("agent.yaml"),
    db: DbOption = None,
) -> None:
    """Change an object of the emulated cluster by hand (a JSON merge patch)."""
    api_version, k = _kind(kind)
    try:
        body = json.loads(patch)
    except json.JSONDecodeError as e:
        fail(f"--patch: invalid JSON: {e}")
        return
    cluster = _emulator(config, db)
    try:
        obj = cluster.merge_patch(api_version, k, name, namespace, body, field_manager="gitops-agent-cli")
    except ClusterError as e:
        fail(str(e), 1)
        return
    finally:
        cluster.close()
    out.print(f"{k.lower()}/{obj['metadata']['name']} patched")


def main() -> None:
    os.environ.setdefault("GIT_TERMINAL_PROMPT", "0")
    app()


if __name__ == "__main__":
    main()
