"""Serialization as the API server stores an object: the first step of admission.

A built-in kind goes through its Go type and back, so empty maps and lists
disappear and quantities take their canonical form (:func:`agent.kube.shapes.normalize`);
a Secret's ``stringData`` is folded into ``data``.  A custom resource keeps
what its schema preserves (:func:`agent.kube.shapes.normalize_custom`).
Server-side apply serializes the applied object with the same function
before merging, and tells admission so it is not done twice.
"""

from __future__ import annotations

import base64

from agent.emulator.objects import JSON
from agent.kube import nodes as schema
from agent.kube import shapes
from agent.kube.errors import BadRequest
from agent.kube.kinds import ResourceType


def serialize(rt: ResourceType, body: JSON, node: schema.Node, *, builtin: bool) -> JSON:
    if builtin:
        if rt.kind == "Secret" and not rt.group:
            _fold_string_data(body)
        try:
            return dict(shapes.normalize(body, shapes.shape_of(node)))
        except schema.SchemaError as e:
            raise BadRequest(str(e)) from None
    return dict(shapes.normalize_custom(body, node))


def default_list_keys(body: JSON, node: schema.Node, *, builtin: bool) -> None:
    """List-map key fields defaulted, as the API server does before merging by keys."""
    if builtin:
        shapes.default_list_keys(body, shapes.shape_of(node))
    else:
        schema.default_list_keys(body, node)


def _fold_string_data(body: JSON) -> None:
    string_data = body.pop("stringData", None)
    if string_data:
        data = dict(body.get("data") or {})
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()
        body["data"] = data
