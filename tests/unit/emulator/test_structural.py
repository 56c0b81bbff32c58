"""A custom resource against its CRD's structural schema: the causes the apiextensions server gives."""

from __future__ import annotations

from typing import Any

from agent.emulator.admission.structural import custom_causes
from tests.support.crds import gadget_crd

VERSION = gadget_crd()["spec"]["versions"][0]
SCHEMA = VERSION["schema"]["openAPIV3Schema"]
SCALE = VERSION["subresources"]["scale"]


def causes(spec: dict[str, Any], old: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    return [(c.field, c.reason) for c in custom_causes({"spec": spec}, SCHEMA, old, SCALE)]


def test_a_valid_spec_has_no_causes() -> None:
    assert causes({"size": 2, "color": "red", "code": "ab", "tags": ["x", "y"], "min": 1, "max": 2}) == []


def test_types_required_enum_bounds_pattern_and_length() -> None:
    assert ("spec.size", "FieldValueTypeInvalid") in causes({"size": "big"})
    assert ("spec.size", "FieldValueRequired") in causes({"color": "red"})
    assert ("spec.color", "FieldValueNotSupported") in causes({"size": 1, "color": "green"})
    assert ("spec.size", "FieldValueInvalid") in causes({"size": 11})
    assert causes({"size": 1, "code": "ABCDEFG"})[0] == (
        "spec.code",
        "FieldValueTooLong",
    )  # first string error only
    assert causes({"size": 1, "code": "ab1"})[0] == ("spec.code", "FieldValueInvalid")


def test_duplicates_in_set_and_map_lists() -> None:
    assert ("spec.tags[2]", "FieldValueDuplicate") in causes({"size": 1, "tags": ["a", "b", "a"]})
    ports = [{"name": "http", "port": 80}, {"name": "http", "port": 81}]
    assert ("spec.ports[1]", "FieldValueDuplicate") in causes({"size": 1, "ports": ports})


def test_cel_rules_run_only_when_nothing_blocks_them() -> None:
    found = custom_causes({"spec": {"size": 1, "min": 3, "max": 2}}, SCHEMA, None, SCALE)
    assert [(c.field, c.message) for c in found] == [("spec", "Invalid value: min must not exceed max")]
    blocked = causes({"size": "big", "min": 3, "max": 2})
    assert ("<nil>", "FieldValueInvalid") in blocked and ("spec", "FieldValueInvalid") not in blocked


def test_the_scale_replicas_path_holds_a_non_negative_integer() -> None:
    assert (".spec.size", "FieldValueInvalid") in causes({"size": -1})
