"""A real kube-apiserver for tests, beside the emulated cluster.

``tests/apiserver`` is a small Go program (its own ``go.mod``) that runs an
embedded etcd and kube-apiserver in one process on 127.0.0.1 (HTTPS with a
CA it generates, one bearer token in ``system:masters``, RBAC). It is built
once per machine into ``~/.cache/gitops-agent-test/kube-apiserver-<key>``,
the key a hash of its ``go.mod``, ``go.sum`` and sources, so only the first
run pays for the build.

- :func:`build` builds (or finds) the binary; ``python -m
  tests.support.apiserver build`` does the same from a shell (``.ci/run``).
- :func:`start` runs it and returns once it answers ``/readyz``;
  :func:`stop` ends it.
- :func:`reset` removes what a test made, as the namespace controller and
  the garbage collector would (none runs beside this server).

Where Go is absent and the binary was never built, :func:`unavailable` names
the missing tool: tests skip with that reason, or fail when
``GITOPS_AGENT_REQUIRE_APISERVER=1`` (CI).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).resolve().parents[1] / "apiserver"
KUBERNETES_VERSION = "v1.37.2"  # the k8s.io/kubernetes release go.mod pins
REQUIRE_VARIABLE = "GITOPS_AGENT_REQUIRE_APISERVER"
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
_LDFLAGS = " ".join(
    [
        "-s -w",
        f"-X k8s.io/component-base/version.gitVersion={KUBERNETES_VERSION}",
        "-X k8s.io/component-base/version.gitMajor=1",
        "-X k8s.io/component-base/version.gitMinor=" + KUBERNETES_VERSION.split(".")[1],
        "-X k8s.io/component-base/version.gitTreeState=clean",
    ]
)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitops-agent-test"


def binary_path() -> Path:
    """Where the binary for the current sources lives once built."""
    digest = hashlib.sha256(_LDFLAGS.encode())
    for path in sorted(SOURCE.iterdir()):
        if path.name in ("go.mod", "go.sum") or path.suffix == ".go":
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return cache_dir() / f"kube-apiserver-{digest.hexdigest()[:16]}"


def required() -> bool:
    return os.environ.get(REQUIRE_VARIABLE) == "1"


def unavailable() -> str | None:
    """Why the real API server cannot run here, or None."""
    if binary_path().exists() or shutil.which("go"):
        return None
    return (
        "the real Kubernetes API server tests need Go: `go` was not found on PATH "
        "to build tests/apiserver (set GITOPS_AGENT_REQUIRE_APISERVER=1 to make this a failure)"
    )


def build(log: Any = sys.stderr) -> Path:
    """The binary, built first when missing (printing what it does and how long it took)."""
    target = binary_path()
    if target.exists():
        return target
    go = shutil.which("go")
    if go is None:
        raise RuntimeError(unavailable())
    target.parent.mkdir(parents=True, exist_ok=True)
    print(
        f"building kube-apiserver {KUBERNETES_VERSION} from {SOURCE} into {target} ...", file=log, flush=True
    )
    started = time.monotonic()
    partial = target.with_name(target.name + f".{os.getpid()}.partial")
    command = [go, "build", "-trimpath", "-ldflags", _LDFLAGS, "-o", str(partial), "."]
    done = subprocess.run(command, cwd=SOURCE, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"`go build` in {SOURCE} failed:\n{done.stderr[-4000:]}")
    partial.replace(target)
    print(f"built {target} in {time.monotonic() - started:.0f} s", file=log, flush=True)
    return target


@dataclass
class RealServer:
    process: subprocess.Popen[str]
    url: str
    kubeconfig: Path
    version: str
    log: Path


def start(binary: Path, data_dir: Path, timeout: float = 180) -> RealServer:
    """Runs the server over a new ``data_dir``; returns once it is ready."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "apiserver.log"
    kubeconfig = data_dir / "kubeconfig"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [str(binary), "--data-dir", str(data_dir / "data"), "--kubeconfig", str(kubeconfig)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline() if proc.stdout else ""))
    reader.start()
    reader.join(timeout)
    words = line[0].split() if line else []
    if len(words) != 4 or words[0] != "ready":
        stop(proc)
        raise RuntimeError(f"kube-apiserver did not become ready: {log.read_text()[-4000:]}")
    return RealServer(proc, words[1], Path(words[2]), words[3], log)


def stop(proc: subprocess.Popen[str], timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def reset(kubeconfig: Path, timeout: float = 60) -> None:
    """Deletes every namespace but the system ones, with what is in them,
    and every CustomResourceDefinition: the namespace controller's work,
    which no controller-manager does here."""
    from kubernetes import client, config
    from kubernetes.dynamic import DynamicClient

    api = config.new_client_from_config(str(kubeconfig))
    try:
        core = client.CoreV1Api(api)
        ext = client.ApiextensionsV1Api(api)
        for crd in ext.list_custom_resource_definition().items:
            ext.delete_custom_resource_definition(crd.metadata.name)
        _until(lambda: not ext.list_custom_resource_definition().items, timeout, "CRDs removed")
        dynamic = DynamicClient(api)
        namespaced = _namespaced_resources(dynamic)
        for item in core.list_namespace().items:
            name = item.metadata.name
            if name in SYSTEM_NAMESPACES:
                continue
            _empty_namespace(dynamic, namespaced, name)
            core.delete_namespace(name)
            fresh = core.read_namespace(name)
            fresh.spec.finalizers = []
            core.replace_namespace_finalize(name, fresh)
        _until(
            lambda: all(n.metadata.name in SYSTEM_NAMESPACES for n in core.list_namespace().items),
            timeout,
            "namespaces removed",
        )
    finally:
        api.close()


def _until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _namespaced_resources(dynamic: Any) -> list[Any]:
    from kubernetes.dynamic.resource import Resource

    return [
        r
        for r in dynamic.resources.search()
        if isinstance(r, Resource)
        and r.namespaced
        and "/" not in r.name
        and {"deletecollection", "list"} <= set(r.verbs or ())
    ]


def _empty_namespace(dynamic: Any, resources: list[Any], namespace: str) -> None:
    """deletecollection of every kind, then no finalizer left to hold anything."""
    from kubernetes.dynamic.exceptions import NotFoundError

    for r in resources:
        path = r.path(namespace=namespace)
        try:
            dynamic.request("delete", path)
            listed = dynamic.request("get", path).items or ()
        except NotFoundError:  # a kind whose definition was just deleted
            continue
        for obj in listed:
            if obj.metadata.finalizers:
                dynamic.request(
                    "patch",
                    f"{path}/{obj.metadata.name}",
                    body={"metadata": {"finalizers": None}},
                    content_type="application/merge-patch+json",
                )


def main(argv: list[str]) -> int:
    if argv[:1] != ["build"]:
        print("usage: python -m tests.support.apiserver build", file=sys.stderr)
        return 2
    try:
        path = build(sys.stdout)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def kubectl_json(server: RealServer, *args: str) -> Any:
    """``kubectl ARGS -o json`` against the real server, decoded (it must succeed)."""
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(server.kubeconfig), *args, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
