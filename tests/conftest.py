"""Shared fixtures: real git repositories and the embedded emulated cluster
(the helpers they are made with live in tests/support)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.emulator import EmulatedCluster
from tests.support import apiserver
from tests.support import helm as helm_support
from tests.support.daemon import Daemon
from tests.support.repos import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "repo")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[EmulatedCluster]:
    c = EmulatedCluster(tmp_path / "cluster.db")
    yield c
    c.close()


STARTED: list[str] = []  # the real API server's version line, repeated in the summary


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in STARTED:
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker of pytest-xdist hands its real server's version line to the controller."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["real_server"] = list(STARTED)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """The controller of pytest-xdist: each worker's real server line, once, for the summary."""
    for line in getattr(node, "workeroutput", {}).get("real_server", []):
        if line not in STARTED:
            STARTED.append(line)


@pytest.fixture(scope="session")
def real_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[apiserver.RealServer]:
    """A real kube-apiserver (with etcd) for the whole session, built on first use.

    Skipped, with the missing tool named, where Go is absent; a failure
    instead when GITOPS_AGENT_REQUIRE_APISERVER=1 (as in CI)."""
    reason = apiserver.unavailable()
    if reason:
        if apiserver.required():
            pytest.fail(reason)
        pytest.skip(reason)
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")

    class Log:
        def write(self, text: str) -> None:
            if terminal is None or not text.strip():
                return
            if capture is None:
                terminal.write_line(text.rstrip())
                return
            with capture.global_and_fixture_disabled():
                terminal.write_line(text.rstrip())

        def flush(self) -> None:
            pass

    server = apiserver.start(apiserver.build(Log()), tmp_path_factory.mktemp("apiserver"))
    STARTED.append(f"real API server: kube-apiserver {server.version} (etcd embedded) at {server.url}")
    Log().write(STARTED[-1])
    try:
        yield server
    finally:
        apiserver.stop(server.process)


@pytest.fixture
def real(real_server: apiserver.RealServer) -> apiserver.RealServer:
    """The real API server, emptied of what earlier tests made."""
    apiserver.reset(real_server.kubeconfig)
    return real_server


@pytest.fixture(scope="session")
def helm_binary() -> Iterator[Path]:
    """The helm binary (built on first use), named to the agent through
    GITOPS_AGENT_HELM for the whole session; skipped where it cannot be had."""
    reason = helm_support.unavailable()
    if reason:
        pytest.skip(reason)
    from agent.render import engines

    binary = helm_support.build()
    before = os.environ.get("GITOPS_AGENT_HELM")
    os.environ["GITOPS_AGENT_HELM"] = str(binary)
    engines.helm.cache_clear()
    try:
        yield binary
    finally:
        if before is None:
            os.environ.pop("GITOPS_AGENT_HELM", None)
        else:
            os.environ["GITOPS_AGENT_HELM"] = before
        engines.helm.cache_clear()


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Daemons a test starts (append them): each is stopped at the end."""
    running: list[Daemon] = []
    yield running
    for d in running:
        d.stop()
