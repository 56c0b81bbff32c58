"""Shared fixtures: real git repositories and the embedded emulated cluster
(the helpers they are made with live in tests/support)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.emulator import EmulatedCluster
from tests.support import apiserver
from tests.support.repos import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "repo")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[EmulatedCluster]:
    c = EmulatedCluster(tmp_path / "cluster.db")
    yield c
    c.close()


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

    class Log:
        def write(self, text: str) -> None:
            if terminal is not None and text.strip():
                terminal.write_line(text.rstrip())

        def flush(self) -> None:
            pass

    server = apiserver.start(apiserver.build(Log()), tmp_path_factory.mktemp("apiserver"))
    Log().write(f"real API server: kube-apiserver {server.version} at {server.url}")
    try:
        yield server
    finally:
        apiserver.stop(server.process)
