"""A CustomResourceDefinition's schema must be structural, or the apiextensions server refuses the CRD.

apiextensions-apiserver's ``validateStructuralInvariants``: every node has a
``type`` (unless it is ``x-kubernetes-int-or-string`` or preserves unknown
fields), every array its ``items``, and the root is an object without
``additionalProperties``.  The causes name the schema's path as the server
does (``spec.versions[0].schema.openAPIV3Schema.properties[spec].type``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.emulator.admission.causes import Cause, invalid, required


def schema_causes(schema: Any, path: str) -> list[Cause]:
    """What makes a CRD's ``openAPIV3Schema`` non-structural (apiextensions'
    ``validateStructuralInvariants``): a type on every node, items on every array, an
    object at the root without additionalProperties.  Sorted, as the server sorts them."""
    found: list[Cause] = []
    if isinstance(schema, Mapping):
        _invariants(schema, "root", path, found)
    return sorted(found, key=lambda c: c.text())


_EMPTY_TYPE = {
    "root": "must not be empty at the root",
    "item": "must not be empty for specified array items",
    "field": "must not be empty for specified object fields",
}


def _invariants(node: Mapping[str, Any], level: str, path: str, found: list[Cause]) -> None:
    declared = node.get("type")
    if declared == "array" and "items" not in node:
        found.append(required(f"{path}.items", "must be specified"))
    if isinstance(node.get("items"), Mapping):
        _invariants(node["items"], "item", f"{path}.items", found)
    for key, sub in (node.get("properties") or {}).items():
        if isinstance(sub, Mapping):
            _invariants(sub, "field", f"{path}.properties[{key}]", found)
    extra = node.get("additionalProperties")
    if extra is not None and level == "root":
        found.append(
            Cause(
                f"{path}.additionalProperties",
                "FieldValueForbidden",
                "Forbidden: must not be used at the root",
            )
        )
    if isinstance(extra, Mapping):
        _invariants(extra, "field", f"{path}.additionalProperties", found)
    loose = node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields")
    if not declared and not loose:
        found.append(required(f"{path}.type", _EMPTY_TYPE[level]))
    if level == "root" and declared and declared != "object":
        found.append(invalid(f"{path}.type", declared, "must be object at the root"))
