"""What the shared view keeps of one kind: selected by the key's value
without a scan, each reader's copy its own, never undone by an older event."""

from __future__ import annotations

from typing import Any

import pytest

from agent.cluster.feed import Entry, Subscriber, selected, sync_entry

KEY = "gitops-agent.io/app"


def obj(name: str, app: str | None, rv: int, ns: str = "n", **data: str) -> dict[str, Any]:
    labels = {KEY: app} if app is not None else {}
    meta = {"name": name, "namespace": ns, "labels": labels, "resourceVersion": str(rv)}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def names(items: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in items]


def test_a_list_by_the_keys_value_reads_only_that_value() -> None:
    entry = Entry(("v1", "ConfigMap", KEY))
    sync_entry(entry, [obj(f"c{i}", f"app-{i % 3}", i + 1) for i in range(9)], "9")
    assert names(entry.select("", {KEY: "app-1"})) == ["c1", "c4", "c7"]
    assert set(entry.by_value) == {"app-0", "app-1", "app-2"}
    entry.apply("MODIFIED", obj("c1", "app-2", 10))  # moved to another app
    entry.apply("MODIFIED", obj("c4", None, 11))  # its label removed: it leaves the view
    entry.apply("DELETED", obj("c7", "app-1", 12))
    assert entry.select("", {KEY: "app-1"}) == [] and "app-1" not in entry.by_value
    assert names(entry.select("", {KEY: "app-2"})) == ["c1", "c2", "c5", "c8"]
    assert entry.rv == "12"


def test_readers_get_copies_and_an_older_event_does_not_undo_a_write() -> None:
    entry = Entry(("v1", "ConfigMap", KEY))
    sync_entry(entry, [obj("a", "x", 5, v="1")], "5")
    mine = entry.select("n", {KEY: "x"})[0]
    mine["data"]["v"] = "changed by a reader"
    assert entry.select("n", {KEY: "x"})[0]["data"] == {"v": "1"}
    entry.apply("MODIFIED", obj("a", "x", 9, v="written"), watched=False)  # a write's answer
    assert entry.rv == "5"  # a resumed watch still starts where the watch was
    entry.apply("MODIFIED", obj("a", "x", 7, v="older"))  # an event from before the write
    assert entry.select("n", {KEY: "x"})[0]["data"] == {"v": "written"} and entry.rv == "7"


def test_a_subscriber_hears_what_changes_in_its_selection() -> None:
    entry = Entry(("v1", "ConfigMap", KEY))
    sync_entry(entry, [obj("a", "x", 1), obj("b", "y", 2)], "2")
    sub = Subscriber("n", {KEY: "x"})
    assert names(entry.subscribe(sub)) == ["a"]
    entry.apply("MODIFIED", obj("b", "x", 3))
    entry.apply("DELETED", obj("a", "x", 4))
    heard = [(sub.next(0.1) or ("", {}))[0] for _ in range(2)]
    assert heard == ["ADDED", "DELETED"] and sub.next(0.01) is None
    assert entry.reconcile([obj("b", "x", 3)], {KEY: "x"}) is True
    assert entry.reconcile([], {KEY: "x"}) is False and entry.select("", {KEY: "x"}) == []


@pytest.mark.parametrize("compress", [True, False])
def test_the_filling_list_is_the_callers_own_and_selected_as_the_entry_selects(compress: bool) -> None:
    """A one-shot command keeps text, the daemon compressed; the list that
    filled the entry goes to its caller as it came, selected in the entry's
    order, and changing it changes nothing the entry holds."""
    entry = Entry(("v1", "ConfigMap", KEY), compress=compress)
    items = [obj(f"c{i}", f"app-{i % 2}", i + 1, ns=f"n{i % 3}", v=str(i)) for i in (5, 3, 1, 4, 2, 0)]
    sync_entry(entry, items, "6")
    assert all(held.packed.startswith(b"{") is not compress for held in entry.objects.values())
    for namespace, selector in (("", {KEY: "app-1"}), ("n1", {KEY: "app-0"}), ("n2", {KEY: "none"})):
        assert selected(items, namespace, selector) == entry.select(namespace, selector)
    for item in items:
        item["data"]["v"] = "changed by the caller"
    assert [o["data"]["v"] for o in entry.select("", {KEY: "app-1"})] == ["3", "1", "5"]  # by namespace
