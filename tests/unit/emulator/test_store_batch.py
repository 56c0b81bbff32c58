"""The store's batches: a controllers' pass commits once, each write in it all or nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.emulator.storage.store import Store


def put(store: Store, name: str) -> None:
    with store.transaction() as tx:
        rv = tx.next_rv("ADDED", "", "configmaps", "ns", name)
        tx.put("", "configmaps", "ns", name, rv, {"metadata": {"name": name, "namespace": "ns"}})


def test_a_failed_write_inside_a_batch_is_undone_alone_and_the_rest_commits(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = Store(path)
    with store.batch():
        put(store, "first")
        with pytest.raises(RuntimeError), store.transaction() as tx:
            rv = tx.next_rv("ADDED", "", "configmaps", "ns", "broken")
            tx.put("", "configmaps", "ns", "broken", rv, {"metadata": {"name": "broken"}})
            raise RuntimeError("admission refused it halfway")
        put(store, "second")
        assert store.get("", "configmaps", "ns", "first") is not None  # the batch reads its own writes
    store.close()
    # what another connection sees: the batch committed, without the undone write or its event
    db = sqlite3.connect(path)
    names = [r[0] for r in db.execute("SELECT name FROM objects ORDER BY name")]
    events = [r[0] for r in db.execute("SELECT name FROM events ORDER BY rv")]
    assert names == ["first", "second"]
    assert events == ["first", "second"]


def test_a_batch_commits_what_it_wrote_when_its_work_raises(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")
    with pytest.raises(RuntimeError), store.batch():
        put(store, "kept")
        raise RuntimeError("a reconciler failed after its first write")
    put(store, "after")  # no transaction left open
    assert sorted(k[3] for k in store.all_keys("", "configmaps")) == ["after", "kept"]
