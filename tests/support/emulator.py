"""The emulated cluster for tests, served the two ways tests need it:

- ``gitops-agent emulator serve`` as a process, the one way tests and
  benchmarks start it: :func:`serve` starts it,
  :func:`~tests.support.waits.wait_for_kubeconfig` waits for the kubeconfig
  it writes once it listens, :func:`stop` ends it;
- :func:`backend`: the cluster in process, or its REST server on loopback
  with the official client over it (``emulated`` or ``kube-http``), so one
  test runs against both;
- :func:`served_https`: the cluster in process, served over HTTPS on
  loopback as a real API server is, with a kubeconfig for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.cluster.base import ClusterClient
from agent.cluster.kube import KubeCluster
from agent.emulator import EmulatedCluster, EmulatorServer, Options, write_kubeconfig


def serve(db: Path, kubeconfig: Path, *options: str) -> subprocess.Popen[bytes]:
    """Starts the server on a free port over ``db``; it writes ``kubeconfig``
    (removed first, so a wait sees the new one) when it listens."""
    kubeconfig.unlink(missing_ok=True)
    command = ["emulator", "serve", "--db", str(db), "--port", "0", "--kubeconfig", str(kubeconfig)]
    return subprocess.Popen(
        [sys.executable, "-m", "agent", *command, *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> int:
    """SIGTERM, as a person's Ctrl-C; killed when it does not end in time."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


@dataclass
class Backend:
    engine: EmulatedCluster
    client: ClusterClient  # what the agent uses
    kubeconfig: Path | None = None  # set when served over HTTP
    other: KubeCluster | None = None  # another client, for out-of-band changes


@contextmanager
def backend(tmp_path: Path, mode: str) -> Iterator[Backend]:
    engine = EmulatedCluster(tmp_path / "cluster.db", Options(time_factor=0.001))
    if mode == "emulated":
        try:
            yield Backend(engine, engine)
        finally:
            engine.close()
        return
    server = EmulatorServer(engine).start()
    config = write_kubeconfig(tmp_path / "kubeconfig", server.url, server.token)
    client = KubeCluster.from_kubeconfig(config, discovery_cache=tmp_path / "discovery.json")
    other = KubeCluster.from_kubeconfig(config, discovery_cache=tmp_path / "discovery-other.json")
    try:
        yield Backend(engine, client, config, other)
    finally:
        other.close()
        client.close()
        server.stop()
        engine.close()


@contextmanager
def served_https(tmp_path: Path) -> Iterator[tuple[EmulatedCluster, Path]]:
    """The emulated cluster served over HTTPS: the cluster (for looking
    behind the API) and the kubeconfig that reaches its REST API."""
    engine = EmulatedCluster(tmp_path / "cluster.db")
    server = EmulatorServer(engine, tls=True).start()
    try:
        yield engine, server.write_kubeconfig(tmp_path / "kubeconfig")
    finally:
        server.stop()
        engine.close()


ROOT_CA = "kube-root-ca.crt"  # the ConfigMap a control plane puts in every namespace


def ours(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The objects a test made: a namespace's ``kube-root-ca.crt`` left out."""
    return [o for o in items if (o.get("metadata") or {}).get("name") != ROOT_CA]
