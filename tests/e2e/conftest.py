"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.git_servers import SmartHttp


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SmartHttp]:
    """A smart-HTTP git server on loopback, serving ``tmp_path/srv``."""
    root = tmp_path / "srv"
    root.mkdir()
    s = SmartHttp(root)
    yield s
    s.stop()
