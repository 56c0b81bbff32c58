"""The ``gitops-agent emulator ...`` commands: get, patch, serve, kubeconfig.

The emulator's own command group, mounted by the agent's CLI
(``app.add_typer(command_group(db_of_config), name="emulator")``).  Where the
cluster's database is, when ``--db`` does not say, is the agent's
configuration's business: the agent passes ``db_of_config``, so this module
never reads the agent's configuration format.  Commands import the cluster
and the server only when they run: ``--help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from agent.kube.errors import ClusterError
from agent.redact import redact

if TYPE_CHECKING:
    from agent.emulator.cluster import EmulatedCluster
    from agent.emulator.faults import FaultConfig

DbOfConfig = Callable[[Path], Path]  # the agent's configuration file -> the cluster database
EXIT_NOT_FOUND = 1
EXIT_ERROR = 3

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", envvar="GITOPS_AGENT_CONFIG", help="Agent configuration file.")
]
DbOption = Annotated[
    Path | None, typer.Option("--db", help="Emulated cluster database (default: from config).")
]
NsOption = Annotated[str, typer.Option("--namespace", "-n")]
PortOption = Annotated[int, typer.Option("--port", help="TCP port on 127.0.0.1 (0: any free port).")]
HostOption = Annotated[str, typer.Option("--host", help="Address to listen on.")]
KubeconfigOption = Annotated[
    Path | None,
    typer.Option("--kubeconfig", help="Where to write the kubeconfig (default: beside the db)."),
]
RolloutOption = Annotated[
    float, typer.Option("--rollout-seconds", help="Until workloads report their rollout.")
]
TimeFactorOption = Annotated[
    float, typer.Option("--time-factor", help="Scales deadlines such as progressDeadlineSeconds.")
]
FaultsOption = Annotated[Path | None, typer.Option("--faults", help="Fault injection rules (YAML).")]
NoAuthOption = Annotated[bool, typer.Option("--no-auth", help="Accept requests without the bearer token.")]
NoTlsOption = Annotated[
    bool, typer.Option("--no-tls", help="Serve plain HTTP (kubectl then sends no token: add --no-auth).")
]


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    err.print(f"[bold red]error:[/] {redact(message)}", markup=True)
    raise typer.Exit(code)


def _kind(name: str) -> tuple[str, str]:
    from agent.kube.kinds import BUILTIN  # noqa: PLC0415 - the kinds table loads when a command runs

    lowered = name.lower()
    for t in BUILTIN:
        if lowered in (t.kind.lower(), t.plural, *t.short_names) or lowered == f"{t.plural}.{t.group}":
            return t.api_version, t.kind
    fail(f"unknown kind {name!r} (try deployment, service, configmap, ...)")


class Commands:
    """The commands' bodies, bound to how the agent finds the database."""

    def __init__(self, db_of_config: DbOfConfig) -> None:
        self._db_of_config = db_of_config

    def _cluster(self, config: Path, db: Path | None) -> EmulatedCluster:
        from agent.emulator.cluster import EmulatedCluster  # noqa: PLC0415 - loads when a command runs

        return EmulatedCluster(db if db is not None else self._db_of_config(config))

    def get(
        self,
        kind: str,
        name: Annotated[str | None, typer.Argument()] = None,
        *,
        namespace: NsOption = "",
        output: Annotated[str, typer.Option("--output", "-o", help="name, yaml or json")] = "name",
        config: ConfigOption = Path("agent.yaml"),
        db: DbOption = None,
    ) -> None:
        """Print objects of the emulated cluster."""
        api_version, k = _kind(kind)
        cluster = self._cluster(config, db)
        try:
            if name:
                obj = cluster.get(api_version, k, name, namespace or "default")
                if obj is None:
                    fail(f'{k} "{name}" not found', EXIT_NOT_FOUND)
                items = [obj]
            else:
                items = cluster.list(api_version, k, namespace)
        except ClusterError as e:
            fail(str(e), EXIT_NOT_FOUND)
        finally:
            cluster.close()
        if output == "json":
            sys.stdout.write(json.dumps(items[0] if name else items, indent=2) + "\n")
        elif output == "yaml":
            import yaml  # noqa: PLC0415 - only this output needs it

            sys.stdout.write(yaml.safe_dump(items[0] if name else items, sort_keys=False))
        else:
            for o in items:
                ns = o["metadata"].get("namespace")
                out.print(f"{k.lower()}/{o['metadata']['name']}" + (f" (namespace {ns})" if ns else ""))

    def patch(
        self,
        kind: str,
        name: str,
        *,
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
        cluster = self._cluster(config, db)
        try:
            obj = cluster.merge_patch(api_version, k, name, namespace, body, field_manager="gitops-agent-cli")
        except ClusterError as e:
            fail(str(e), EXIT_NOT_FOUND)
        finally:
            cluster.close()
        out.print(f"{k.lower()}/{obj['metadata']['name']} patched")

    def serve(  # noqa: PLR0913 - the command's options are its parameters
        self,
        *,
        config: ConfigOption = Path("agent.yaml"),
        db: DbOption = None,
        port: PortOption = 6443,
        host: HostOption = "127.0.0.1",
        kubeconfig: KubeconfigOption = None,
        rollout_seconds: RolloutOption = 2.0,
        time_factor: TimeFactorOption = 0.05,
        faults: FaultsOption = None,
        no_auth: NoAuthOption = False,
        no_tls: NoTlsOption = False,
    ) -> None:
        """Serve the emulated cluster's Kubernetes API over HTTPS and write a kubeconfig for it."""
        from agent.emulator.cluster import EmulatedCluster  # noqa: PLC0415 - loads when serving
        from agent.emulator.options import Options  # noqa: PLC0415
        from agent.emulator.rest.serving import EmulatorServer  # noqa: PLC0415

        path = db if db is not None else self._db_of_config(config)
        options = Options(rollout_seconds=rollout_seconds, time_factor=time_factor, faults=_faults(faults))
        cluster = EmulatedCluster(path, options)
        try:
            server = EmulatorServer(cluster, host, port, token="" if no_auth else None, tls=not no_tls)
        except OSError as e:
            cluster.close()
            fail(f"cannot listen on {host}:{port}: {e.strerror or e}")
        target = server.write_kubeconfig(kubeconfig or path.parent / "kubeconfig")
        out.print(f"emulated cluster {path} serving on {server.url}")
        out.print(f"kubeconfig: {target}  (export KUBECONFIG={target})")
        try:
            server.serve_forever()
        finally:
            cluster.close()

    def kubeconfig(self, config: ConfigOption = Path("agent.yaml"), db: DbOption = None) -> None:
        """Print the kubeconfig of the emulated cluster's REST server (started with `emulator serve`)."""
        import yaml  # noqa: PLC0415 - loads when the command runs

        from agent.emulator.rest.serving import saved_kubeconfig  # noqa: PLC0415

        cluster = self._cluster(config, db)
        try:
            doc = saved_kubeconfig(cluster)
        finally:
            cluster.close()
        if doc is None:
            fail("the emulated cluster has not been served yet: run `gitops-agent emulator serve` first")
        sys.stdout.write(yaml.safe_dump(doc, sort_keys=False))


def _faults(path: Path | None) -> FaultConfig | None:
    if path is None:
        return None
    from agent.emulator.faults import parse_faults  # noqa: PLC0415 - loads when the command runs
    from agent.emulator.rest.messages import MAX_BODY_BYTES, decode_body  # noqa: PLC0415

    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BODY_BYTES + 1)
    except OSError as e:
        fail(f"{path}: {e.strerror or e}")
    if len(raw) > MAX_BODY_BYTES:
        fail(f"{path}: larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB; refused")
    try:
        data = decode_body(raw, yaml_ok=True, where=str(path)) if raw.strip() else {}
        if not isinstance(data, dict):
            fail(f"{path}: the fault rules must be a mapping")
        return parse_faults(data, str(path))
    except ClusterError as e:  # the loader's and the rules' errors name the file
        fail(e.message)


def command_group(db_of_config: DbOfConfig) -> typer.Typer:
    """The ``emulator`` command group; ``db_of_config`` finds the database when ``--db`` is not given."""
    commands = Commands(db_of_config)
    group = typer.Typer(no_args_is_help=True, help="Look at and change the embedded emulated cluster.")
    group.command("get")(commands.get)
    group.command("patch")(commands.patch)
    group.command("serve")(commands.serve)
    group.command("kubeconfig")(commands.kubeconfig)
    return group
