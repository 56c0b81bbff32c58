"""The daemon's malloc arena limit: set on glibc, left to the environment when it sets one."""

from __future__ import annotations

import ctypes

import pytest

from agent.daemon.arenas import limit_arenas


def test_set_on_glibc_unless_the_environment_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    glibc = hasattr(ctypes.CDLL(None), "gnu_get_libc_version")
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_arenas(8) is glibc  # 8: glibc's own limit per core, nothing changes for the tests
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas(8) is False
