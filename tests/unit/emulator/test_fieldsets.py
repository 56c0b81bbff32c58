"""Field sets: paths in the FieldsV1 spelling, and the round trip through fieldsV1."""

from __future__ import annotations

from agent.emulator.fields.fieldsets import describe, flatten, from_fields_v1, object_set, to_fields_v1
from tests.unit.emulator.schemas import WIDGET, widget


def test_flatten_keys_list_map_items_and_set_members() -> None:
    obj = widget(
        replicas=2,
        ports=[{"port": 80, "name": "http"}],  # protocol defaulted to TCP in the key
        containers=[{"name": "web", "image": "web:1"}],
        tags=["blue"],
        args=["--x"],
    )
    paths = flatten(obj, WIDGET)
    port = 'k:{"port":80,"protocol":"TCP"}'
    assert paths[("f:spec", "f:replicas")] == 2
    assert paths[("f:spec", "f:ports", port, "f:name")] == "http"
    assert paths[("f:spec", "f:containers", 'k:{"name":"web"}', "f:image")] == "web:1"
    assert ("f:spec", "f:tags", 'v:"blue"') in paths
    assert paths[("f:spec", "f:args")] == ["--x"]  # an atomic list is one field
    assert not any(p[:2] == ("f:metadata", "f:name") for p in paths)  # the server's own fields


def test_fields_v1_round_trip() -> None:
    obj = widget(
        replicas=1, containers=[{"name": "web", "image": "a"}, {"name": "side", "image": "b"}], tags=["x"]
    )
    obj["metadata"]["labels"] = {"app": "w"}
    fields = object_set(obj, WIDGET)
    tree = to_fields_v1(fields)
    assert from_fields_v1(tree) == fields
    assert tree["f:spec"]["f:containers"]['k:{"name":"web"}']["f:image"] == {}
    assert list(tree) == sorted(tree)  # sorted, as the API server writes it


def test_an_owned_node_with_children_is_marked_with_a_dot() -> None:
    fields = {
        ("f:spec", "f:containers", 'k:{"name":"web"}'),
        ("f:spec", "f:containers", 'k:{"name":"web"}', "f:image"),
    }
    tree = to_fields_v1(fields)
    assert tree == {"f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}}}}}
    assert from_fields_v1(tree) == fields


def test_describe_spells_paths_as_the_api_server() -> None:
    assert (
        describe(("f:spec", "f:containers", 'k:{"name":"web"}', "f:image"))
        == '.spec.containers[name="web"].image'
    )
    assert describe(("f:spec", "f:tags", 'v:"x"')) == '.spec.tags[="x"]'
