"""The emulated cluster's label index and list pages: the same answers as a
scan of every object, read through the index, in key order across pages."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agent.emulator import EmulatedCluster
from agent.emulator.storage.index import Query
from agent.emulator.storage.selectors import label_matcher, requirements
from tests.support.emulator import ours

SELECTORS = [
    "tier=front",
    "tier==front",
    "tier!=front",
    "tier in (front,back)",
    "tier notin (front)",
    "env",
    "!env",
    "tier=front,env=prod",
    "tier in (front,back),!env",
    "tier=front,env notin (prod)",
    "tier in ()",
]


def cm(name: str, namespace: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
    }


@pytest.fixture
def cluster(tmp_path: Path) -> Any:
    c = EmulatedCluster(tmp_path / "cluster.db")
    for ns in ("a", "a-b", "b"):
        c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    yield c
    c.close()


def _fill(c: EmulatedCluster) -> None:
    tiers, envs = ["front", "back", None], ["prod", "dev", None]
    for i in range(30):
        labels = {k: v for k, v in (("tier", tiers[i % 3]), ("env", envs[i // 3 % 3])) if v}
        c.create(cm(f"c{i:02d}", ("a", "a-b", "b")[i % 3], **labels))


def _names(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in items]


def test_every_selector_answers_as_a_scan_would(cluster: EmulatedCluster) -> None:
    _fill(cluster)
    cluster.patch("v1", "ConfigMap", "c00", "a", {"metadata": {"labels": {"tier": "back", "env": None}}})
    cluster.delete("v1", "ConfigMap", "c03", "a")
    everything = cluster.list("v1", "ConfigMap")
    assert len(ours(everything)) == 29  # and each namespace's kube-root-ca.crt
    for selector in SELECTORS:
        matches = label_matcher(selector)
        assert matches is not None
        scanned = sorted(_names([o for o in everything if matches(o)]))
        assert _names(cluster.list("v1", "ConfigMap", "", selector)) == scanned, selector
        in_a = [k for k in scanned if k[0] == "a"]
        assert _names(cluster.list("v1", "ConfigMap", "a", selector)) == in_a, selector
    moved = cluster.list("v1", "ConfigMap", "", "tier=back")
    assert ("a", "c00") in _names(moved) and ("a", "c03") not in _names(cluster.list("v1", "ConfigMap"))


@pytest.mark.parametrize("selector", ["", "tier=front", "tier!=front", "env"])
def test_pages_cover_the_list_once_in_key_order(cluster: EmulatedCluster, selector: str) -> None:
    _fill(cluster)
    rt = cluster.resource_type("v1", "ConfigMap")
    whole = cluster.registry.list_page(rt, "", selector or None)
    pages, token = [], ""
    while True:
        page = cluster.registry.list_page(rt, "", selector or None, limit=4, continue_token=token)
        pages.append(page)
        token = page.continue_token
        if not token:
            break
    seen = [k for p in pages for k in _names(p.items)]
    assert seen == _names(whole.items) == sorted(seen)  # "a-b" before "a/…" would repeat or skip
    assert {p.resource_version for p in pages} == {whole.resource_version}
    first = pages[0]
    if selector:
        assert first.remaining is None  # the API server does not count what a selector leaves
    else:
        assert first.remaining == len(whole.items) - 4  # the 30 made and the namespaces' own


def test_indexed_lists_read_through_the_index(cluster: EmulatedCluster) -> None:
    _fill(cluster)
    db = sqlite3.connect(cluster.store.path)
    for selector, index in (("tier=front", "labels_by_value"), ("tier in (front,back)", "labels_by_value")):
        sql, args = Query("", "configmaps", None, requirements(selector)).sql()
        plan = " ".join(str(row[-1]) for row in db.execute("EXPLAIN QUERY PLAN " + sql, args))
        assert index in plan and "SCAN o" not in plan, plan
    sql, args = Query("", "configmaps", None, (), ("a", "c03")).sql()
    plan = " ".join(str(row[-1]) for row in db.execute("EXPLAIN QUERY PLAN " + sql, args))
    assert "SEARCH o" in plan and "TEMP B-TREE" not in plan, plan  # a page starts at its key, unsorted
    db.close()


def test_a_database_from_before_the_index_is_indexed_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    c = EmulatedCluster(path)
    c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})
    c.create(cm("old", "a", tier="front"))
    c.close()
    db = sqlite3.connect(path)
    db.execute("DELETE FROM labels")
    db.execute("DELETE FROM meta WHERE key='labels-indexed'")
    db.commit()
    db.close()
    again = EmulatedCluster(path)
    try:
        assert _names(again.list("v1", "ConfigMap", "", "tier=front")) == [("a", "old")]
    finally:
        again.close()
