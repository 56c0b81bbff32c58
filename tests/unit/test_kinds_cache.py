"""The built-in kinds table is cached per user, keyed by what it is read from."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.kube import kinds


def test_the_cache_holds_the_table_read_from_the_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    table = kinds._read_builtin()
    fingerprint = kinds._fingerprint()
    assert kinds._read_cache(fingerprint) is None  # nothing cached yet
    kinds._write_cache(fingerprint, table)
    assert (tmp_path / "gitops-agent" / "kinds.json").is_file()
    assert kinds._read_cache(fingerprint) == table
    assert kinds._read_cache("another fingerprint") is None  # packages changed: read them again


def test_a_damaged_or_unwritable_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "gitops-agent").mkdir()
    (tmp_path / "gitops-agent" / "kinds.json").write_text('{"fingerprint": ')
    assert kinds._read_cache(kinds._fingerprint()) is None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    (tmp_path / "file").write_text("not a folder")
    kinds._write_cache("x", kinds._read_builtin())  # no error: the table is just not kept
    assert kinds._read_cache("x") is None
