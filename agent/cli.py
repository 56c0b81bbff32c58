"""The command line: ``gitops-agent sync|diff|render|status|history|rollback|run|emulator``.

Exit codes:
  0  success (sync: every app synced; diff: no drift; status: all synced and healthy)
  1  diff: drift found; status: an app is out of sync or not healthy
  2  sync: a change failed (and was rolled back where possible), or the commit is
     held after a rollback; rollback: the rollback failed
  3  error before any change: configuration, source, render, plan, cluster access
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from agent import __version__
from agent.cluster import connect
from agent.errors import AgentError, ConfigError
from agent.kube.errors import ClusterError
from agent.redact import redact
from agent.results import Stage

if TYPE_CHECKING:
    from agent.config import AgentConfig
    from agent.render import RenderRequest

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
    from agent.config import load_config

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
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Send every change with dryRun=All: checked, not made.")
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """Apply Git to the cluster and print what changed."""
    from agent.report import print_sync, sync_document, sync_progress
    from agent.sync.context import Context
    from agent.sync.pipeline import reconcile

    cfg = _load(config)
    try:
        selected = cfg.select(apps)
        cluster = connect(cfg)
    except (ConfigError, ClusterError) as e:
        fail(str(e))
        return
    try:
        ctx = Context.create(cfg, cluster)
        with sync_progress(err, enabled=output is Output.text) as progress:
            results = [
                reconcile(
                    ctx,
                    a,
                    ref=revision,
                    prune=prune,
                    force=force,
                    dry_run=dry_run,
                    progress=progress.for_app(a.name),
                )
                for a in selected
            ]
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
    from agent.sync.context import Context
    from agent.sync.status import drift

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


@contextlib.contextmanager
def _session(config: Path) -> Iterator[tuple[Any, Any]]:
    """The configuration and a reconcile context on its cluster, closed
    afterwards; an AgentError inside becomes the command's one-line error."""
    from agent.sync.context import Context

    cfg = _load(config)
    try:
        cluster = connect(cfg)
    except (ConfigError, ClusterError) as e:
        fail(str(e))
        raise
    try:
        yield cfg, Context.create(cfg, cluster)
    except AgentError as e:
        fail(str(e))
    finally:
        cluster.close()


@app.command()
def status(
    apps: AppsArgument = None,
    config: ConfigOption = Path("agent.yaml"),
    output: OutputOption = Output.text,
) -> None:
    """Sync status, health, revision and last result of each app."""
    from agent.report import print_status
    from agent.report.documents import json_document
    from agent.sync.status import status as app_status

    with _session(config) as (cfg, ctx):
        statuses = [app_status(ctx, a) for a in cfg.select(apps)]
    if output is Output.json:
        sys.stdout.write(json_document("StatusReport", apps=[s.to_dict() for s in statuses]))
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
    from agent.report.documents import json_document

    with _session(config) as (cfg, ctx):
        records = ctx.records().history(cfg.app(app_name).name)
    if output is Output.json:
        rows = [{k: v for k, v in r.to_json().items() if k != "manifests"} for r in records]
        sys.stdout.write(json_document("History", app=app_name, revisions=rows))
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

    with _session(config) as (cfg, ctx):
        result = rollback_by_hand(ctx, cfg.app(app_name), to)
    if output is Output.json:
        sys.stdout.write(redact(json.dumps({"app": app_name, **result.to_dict()}, indent=2)) + "\n")
    else:
        print_rollback(app_name, result, out)
    if not result.ok:
        raise typer.Exit(EXIT_SYNC_FAILED)


def _repository_root(folder: Path) -> Path:
    """The work tree a chart folder belongs to (the nearest parent with a
    ``.git``), so ``repository: file://../common`` can reach a sibling
    chart; the folder itself outside any work tree."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def _request_for(
    config: Path,
    target: str,
    revision: str | None,
    *,
    release: str | None,
    namespace: str | None,
    validate: bool | None,
) -> RenderRequest:
    """What ``render TARGET`` renders: a folder in its work tree, or an app
    as a sync renders it."""
    from agent.render import Release, RenderRequest

    folder = Path(target)
    if not folder.is_dir():
        return _app_request(config, target, revision, release=release, namespace=namespace, validate=validate)
    real = folder.resolve()
    root = _repository_root(real)
    return RenderRequest(
        root=root,
        path=real.relative_to(root).as_posix() or ".",
        label=target.rstrip("/") or target,
        release=Release(release or real.name, namespace or "default"),
        validate=True if validate is None else validate,
    )


def _app_request(
    config: Path,
    target: str,
    revision: str | None,
    *,
    release: str | None,
    namespace: str | None,
    validate: bool | None,
) -> RenderRequest:
    """What ``render APP`` renders: the app's request, as a sync makes it."""
    from agent.source import GitSource, signature_policy
    from agent.sync.render import render_request

    cfg = _load(config)
    application = cfg.app(target)
    checkout = GitSource.from_config(cfg).checkout(
        cfg.repo_location(application),
        revision or application.revision,
        verify=signature_policy(cfg, application),
    )
    return render_request(
        application, checkout.root, None, release=release, namespace=namespace, validate=validate
    )


@app.command("render")
def render_cmd(
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

    try:
        overrides = [load_values_file(Path(v), v) for v in values or ()]
        overrides += [parse_set(set_ or []), parse_set(set_string or [], as_string=True)]
        capabilities = Capabilities.of(kube_version, api_versions or ())
        req = _request_for(config, target, revision, release=release, namespace=namespace, validate=validate)
        result = render(replace(req, overrides=overrides, capabilities=capabilities))
    except AgentError as e:
        fail(str(e))
        return
    sys.stdout.write(to_yaml_stream(result.manifests))
    sys.stdout.flush()
    if result.notes:
        err.print(f"NOTES:\n{result.notes}", markup=False)


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
    from agent.emulator import EmulatedCluster

    if db is not None:
        return EmulatedCluster(db)
    cfg = _load(config)
    if cfg.cluster.kind != "emulated":
        fail(f"{config}: the configured cluster is not the emulated one (use --db PATH)")
    path = cfg.cluster.emulated.path if cfg.cluster.emulated else ".gitops-agent/cluster.db"
    return EmulatedCluster(cfg.resolve(path))


def _kind(name: str) -> tuple[str, str]:
    from agent.kube.kinds import BUILTIN

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
        import yaml

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


@emulator_app.command("serve")
def emulator_serve(
    config: ConfigOption = Path("agent.yaml"),
    db: DbOption = None,
    port: Annotated[int, typer.Option("--port", help="TCP port on 127.0.0.1 (0: any free port).")] = 6443,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    kubeconfig: Annotated[
        Path | None,
        typer.Option("--kubeconfig", help="Where to write the kubeconfig (default: beside the db)."),
    ] = None,
    rollout_seconds: Annotated[
        float, typer.Option("--rollout-seconds", help="Until workloads report their rollout.")
    ] = 2.0,
    time_factor: Annotated[
        float, typer.Option("--time-factor", help="Scales deadlines such as progressDeadlineSeconds.")
    ] = 0.05,
    faults: Annotated[Path | None, typer.Option("--faults", help="Fault injection rules (YAML).")] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Accept requests without the bearer token.")
    ] = False,
    no_tls: Annotated[
        bool,
        typer.Option("--no-tls", help="Serve plain HTTP (kubectl then sends no token: add --no-auth)."),
    ] = False,
) -> None:
    """Serve the emulated cluster's Kubernetes API over HTTPS and write a kubeconfig for it."""
    import yaml

    from agent.emulator import EmulatedCluster, Options
    from agent.emulator.faults import parse_faults
    from agent.emulator.serving import EmulatorServer

    path = db if db is not None else _emulator_path(config)
    rules = None
    if faults is not None:
        try:
            rules = parse_faults(yaml.safe_load(faults.read_text()) or {}, str(faults))
        except (OSError, yaml.YAMLError, ClusterError) as e:
            fail(f"{faults}: {e}")
    cluster = EmulatedCluster(
        path, Options(rollout_seconds=rollout_seconds, time_factor=time_factor, faults=rules)
    )
    try:
        server = EmulatorServer(cluster, host, port, token="" if no_auth else None, tls=not no_tls)
    except OSError as e:
        cluster.close()
        fail(f"cannot listen on {host}:{port}: {e.strerror or e}")
        return
    target = server.write_kubeconfig(kubeconfig or path.parent / "kubeconfig")
    out.print(f"emulated cluster {path} serving on {server.url}")
    out.print(f"kubeconfig: {target}  (export KUBECONFIG={target})")
    try:
        server.serve_forever()
    finally:
        cluster.close()


@emulator_app.command("kubeconfig")
def emulator_kubeconfig(config: ConfigOption = Path("agent.yaml"), db: DbOption = None) -> None:
    """Print the kubeconfig of the emulated cluster's REST server (started with `emulator serve`)."""
    import yaml

    from agent.emulator.serving import saved_kubeconfig

    cluster = _emulator(config, db)
    try:
        doc = saved_kubeconfig(cluster)
    finally:
        cluster.close()
    if doc is None:
        fail("the emulated cluster has not been served yet: run `gitops-agent emulator serve` first")
    sys.stdout.write(yaml.safe_dump(doc, sort_keys=False))


def _emulator_path(config: Path) -> Path:
    cfg = _load(config)
    if cfg.cluster.kind != "emulated":
        fail(f"{config}: the configured cluster is not the emulated one (use --db PATH)")
    return cfg.resolve(cfg.cluster.emulated.path if cfg.cluster.emulated else ".gitops-agent/cluster.db")


def main() -> None:
    os.environ.setdefault("GIT_TERMINAL_PROMPT", "0")
    # A sync allocates hundreds of thousands of small objects (imports, the
    # rendered objects, the live ones) and frees them by reference counting;
    # at the default threshold of 700 the cycle collector ran some 300 times
    # in a sync of 1,000 objects, a tenth of its time, and found next to
    # nothing.  Young collections now run every 20,000 allocations.
    gc.set_threshold(20_000, 50, 100)
    try:
        app()
    except SystemExit as e:
        _leave(e.code)
    _leave(0)


def _leave(code: object) -> NoReturn:
    """Exit without the interpreter's final teardown.

    A sync leaves thousands of objects in memory and the kubernetes client
    loads thousands of model classes; freeing them one by one at exit took
    about a quarter of a second, as long as the whole apply of a small app.
    What exit must still do is done here first: the interpreter's own
    thread shutdown (executors finish, other non-daemon threads are joined),
    the atexit handlers (logging's flush, temporary files), and the output
    streams are flushed.  Then the process ends with ``code``."""
    status = code if isinstance(code, int) else (0 if code is None else 1)
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
    shutdown = getattr(threading, "_shutdown", None)  # what the interpreter calls at exit
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
