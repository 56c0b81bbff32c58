"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.git_servers import SmartHttp
from tests.support.kubectl import VERSIONS, Kubectl, served_kubectl


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SmartHttp]:
    """A smart-HTTP git server on loopback, serving ``tmp_path/srv``."""
    root = tmp_path / "srv"
    root.mkdir()
    s = SmartHttp(root)
    yield s
    s.stop()


@pytest.fixture(params=VERSIONS)
def kubectl(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kubectl]:
    """kubectl of each version against a new emulated cluster."""
    yield from served_kubectl(request, tmp_path)
