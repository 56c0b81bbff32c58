"""Patching: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch."""

from __future__ import annotations

import pytest

from agent.emulator.fields.patching import json_patch, merge_patch, strategic_merge_patch
from agent.kube.errors import BadRequest, Invalid, UnsupportedMediaType
from tests.unit.emulator.schemas import WIDGET, widget


def test_merge_patch_merges_maps_deletes_with_null_and_replaces_lists() -> None:
    live = widget(replicas=1, tags=["a", "b"], containers=[{"name": "web", "image": "v1"}])
    out = merge_patch(live, {"spec": {"replicas": None, "tags": ["c"]}, "metadata": {"labels": {"x": "1"}}})
    assert out["spec"] == {"tags": ["c"], "containers": [{"name": "web", "image": "v1"}]}
    assert out["metadata"] == {"name": "w", "labels": {"x": "1"}}
    assert live["spec"]["replicas"] == 1  # the target is not changed in place


def test_json_patch_applies_operations_and_a_failed_test_is_invalid() -> None:
    live = widget(replicas=1)
    out = json_patch(live, [{"op": "replace", "path": "/spec/replicas", "value": 3}])
    assert out["spec"]["replicas"] == 3
    with pytest.raises(Invalid):
        json_patch(live, [{"op": "test", "path": "/spec/replicas", "value": 2}])
    with pytest.raises(Invalid):
        json_patch(live, [{"op": "remove", "path": "/spec/missing"}])
    with pytest.raises(BadRequest):
        json_patch(live, {"op": "add"})


def test_strategic_merge_patch_merges_list_maps_by_their_key() -> None:
    live = widget(
        containers=[{"name": "web", "image": "web:1"}, {"name": "side", "image": "side:1"}],
        ports=[{"port": 80, "protocol": "TCP", "name": "http"}],
    )
    patch = {
        "spec": {
            "containers": [{"name": "web", "image": "web:2"}, {"name": "new", "image": "new:1"}],
            "ports": [{"port": 443, "name": "https"}],
        }
    }
    out = strategic_merge_patch(live, patch, WIDGET)
    assert out["spec"]["containers"] == [
        {"name": "web", "image": "web:2"},
        {"name": "side", "image": "side:1"},
        {"name": "new", "image": "new:1"},
    ]
    assert [p["port"] for p in out["spec"]["ports"]] == [80, 443]


def test_strategic_merge_patch_directives_delete_and_replace() -> None:
    live = widget(containers=[{"name": "web", "image": "w"}, {"name": "side", "image": "s"}], tags=["a", "b"])
    out = strategic_merge_patch(
        live,
        {
            "spec": {
                "containers": [{"name": "side", "$patch": "delete"}],
                "$deleteFromPrimitiveList/tags": ["a"],
            }
        },
        WIDGET,
    )
    assert out["spec"]["containers"] == [{"name": "web", "image": "w"}]
    assert out["spec"]["tags"] == ["b"]
    replaced = strategic_merge_patch(
        live, {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "o"}]}}, WIDGET
    )
    assert replaced["spec"]["containers"] == [{"name": "only", "image": "o"}]


def test_strategic_merge_patch_sets_merge_as_sets_and_atomic_lists_replace() -> None:
    live = widget(tags=["a", "b"], args=["--x"])
    out = strategic_merge_patch(live, {"spec": {"tags": ["b", "c"], "args": ["--y"]}}, WIDGET)
    assert out["spec"]["tags"] == ["a", "b", "c"]
    assert out["spec"]["args"] == ["--y"]


def test_strategic_merge_patch_needs_the_merge_key_and_a_built_in_kind() -> None:
    with pytest.raises(BadRequest, match="merge key"):
        strategic_merge_patch(widget(containers=[]), {"spec": {"containers": [{"image": "x"}]}}, WIDGET)
    with pytest.raises(UnsupportedMediaType):
        strategic_merge_patch(widget(), {"spec": {}}, WIDGET, builtin=False)
