"""Managed fields: ownership through updates and server-side apply, and its conflicts."""

from __future__ import annotations

import pytest

from agent.emulator.fields import managed
from agent.emulator.fields.managed import Writer
from agent.kube.errors import Conflict
from tests.unit.emulator.schemas import WIDGET, widget

REPLICAS = ("f:spec", "f:replicas")
WEB_IMAGE = ("f:spec", "f:containers", 'k:{"name":"web"}', "f:image")


def writer(manager: str) -> Writer:
    return Writer(manager, "example.com/v1", "2026-01-01T00:00:00Z")


def owners(entries: list[managed.Entry], path: tuple[str, ...]) -> list[str]:
    return [e.manager for e in entries if path in e.fields]


def test_apply_creates_and_owns_what_it_applied() -> None:
    applied = widget(replicas=1, containers=[{"name": "web", "image": "web:1"}])
    merged, entries = managed.apply(None, applied, WIDGET, [], writer("deployer"))
    assert merged["spec"] == applied["spec"]
    assert [(e.manager, e.operation) for e in entries] == [("deployer", "Apply")]
    assert owners(entries, REPLICAS) == ["deployer"] and owners(entries, WEB_IMAGE) == ["deployer"]


def test_an_update_takes_the_fields_it_changed() -> None:
    live, entries = managed.apply(None, widget(replicas=1), WIDGET, [], writer("deployer"))
    changed = widget(replicas=5)
    entries = managed.record_update(live, changed, WIDGET, entries, writer("scaler"))
    assert owners(entries, REPLICAS) == ["scaler"]
    assert [e.operation for e in entries if e.manager == "scaler"] == ["Update"]


def test_apply_conflicts_with_another_owner_unless_forced() -> None:
    live, entries = managed.apply(None, widget(replicas=1), WIDGET, [], writer("deployer"))
    entries = managed.record_update(live, widget(replicas=5), WIDGET, entries, writer("scaler"))
    live = widget(replicas=5)
    with pytest.raises(Conflict) as caught:
        managed.apply(live, widget(replicas=2), WIDGET, entries, writer("deployer"))
    assert 'conflict with "scaler"' in str(caught.value) and ".spec.replicas" in str(caught.value)
    merged, entries = managed.apply(live, widget(replicas=2), WIDGET, entries, writer("deployer"), force=True)
    assert merged["spec"]["replicas"] == 2
    assert owners(entries, REPLICAS) == ["deployer"]


def test_applying_the_same_value_shares_ownership_without_conflict() -> None:
    live, entries = managed.apply(None, widget(replicas=1), WIDGET, [], writer("a"))
    _, entries = managed.apply(live, widget(replicas=1), WIDGET, entries, writer("b"))
    assert sorted(owners(entries, REPLICAS)) == ["a", "b"]


def test_apply_removes_what_the_manager_no_longer_applies_and_nobody_else_owns() -> None:
    first = widget(containers=[{"name": "web", "image": "w"}, {"name": "side", "image": "s"}])
    live, entries = managed.apply(None, first, WIDGET, [], writer("deployer"))
    merged, _ = managed.apply(
        live, widget(containers=[{"name": "web", "image": "w"}]), WIDGET, entries, writer("deployer")
    )
    assert [c["name"] for c in merged["spec"]["containers"]] == ["web"]


def test_entries_round_trip_through_managed_fields() -> None:
    _, entries = managed.apply(None, widget(replicas=1), WIDGET, [], writer("deployer"))
    written = managed.write_entries(entries)
    assert written[0]["manager"] == "deployer" and written[0]["fieldsType"] == "FieldsV1"
    again = managed.read_entries({"managedFields": written})
    assert [e.fields for e in again] == [e.fields for e in entries]


def test_a_dropped_item_goes_whole_even_when_another_manager_changed_a_field_in_it() -> None:
    first = widget(containers=[{"name": "web", "image": "w"}, {"name": "side", "image": "s"}])
    live, entries = managed.apply(None, first, WIDGET, [], writer("deployer"))
    edited = widget(containers=[{"name": "web", "image": "w"}, {"name": "side", "image": "s2"}])
    entries = managed.record_update(live, edited, WIDGET, entries, writer("editor"))
    assert owners(entries, ("f:spec", "f:containers", 'k:{"name":"side"}', "f:image")) == ["editor"]
    merged, entries = managed.apply(
        edited, widget(containers=[{"name": "web", "image": "w"}]), WIDGET, entries, writer("deployer")
    )
    assert merged["spec"]["containers"] == [{"name": "web", "image": "w"}]  # no {"image": "s2"} left
    assert [e.manager for e in entries] == ["deployer"]  # the editor's field left with the item


def test_an_item_another_manager_owns_whole_stays() -> None:
    first = widget(containers=[{"name": "web", "image": "w"}, {"name": "side", "image": "s"}])
    live, entries = managed.apply(None, first, WIDGET, [], writer("deployer"))
    _, entries = managed.apply(
        live, widget(containers=[{"name": "side", "image": "s"}]), WIDGET, entries, writer("other")
    )
    merged, _ = managed.apply(
        live, widget(containers=[{"name": "web", "image": "w"}]), WIDGET, entries, writer("deployer")
    )
    assert [c["name"] for c in merged["spec"]["containers"]] == ["web", "side"]


def test_an_apply_entry_lists_leaves_and_items_not_the_maps_of_named_fields() -> None:
    applied = widget(containers=[{"name": "web", "image": "w"}])
    applied["metadata"]["labels"] = {"app": "web"}
    _, entries = managed.apply(None, applied, WIDGET, [], writer("deployer"))
    tree = managed.write_entries(entries)[0]["fieldsV1"]
    assert tree["f:metadata"] == {"f:labels": {"f:app": {}}}
    assert tree["f:spec"]["f:containers"]['k:{"name":"web"}'] == {".": {}, "f:image": {}, "f:name": {}}
