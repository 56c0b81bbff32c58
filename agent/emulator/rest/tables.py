"""Table output: what ``kubectl get`` shows, computed by the server as a real one does.

kubectl asks for ``application/json;as=Table;v=v1;g=meta.k8s.io`` and prints
the columns the server sends (priority 0 always, priority 1 with ``-o
wide``).  The columns of built-in kinds follow the API server's printers
(``pkg/printers/internalversion/printers.go``, Kubernetes 1.33); custom
resources get their CRD's ``additionalPrinterColumns`` (JSONPath, as the
apiextensions server evaluates them) or Name and Age; any other kind Name
and Created At.  Ages are rendered server-side like ``duration.HumanDuration``.
Each row carries the object's metadata (``PartialObjectMetadata``, the
default), the whole object (``includeObject=Object``) or nothing (``None``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from agent.emulator.objects import JSON
from agent.emulator.rest.cells import Cell, get, since
from agent.emulator.rest.columns import AGE, COLUMNS, DEFAULT, DESCRIPTIONS, NAME, Column
from agent.kube.kinds import ResourceType


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


# -- JSONPath for additionalPrinterColumns ----------------------------------------------------------
_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]|\['([^']+)'\]|\[\*\]")


def _jsonpath(obj: Any, path: str) -> list[Any]:
    """The simple JSONPath subset CRD printer columns use (``.spec.a``, ``[0]``, ``['a.b']``, ``[*]``)."""
    values = [obj]
    text = path.strip().removeprefix("{").removesuffix("}").removeprefix("$")
    pos = 0
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            return []
        pos = m.end()
        nxt: list[Any] = []
        for v in values:
            if m.group(1) is not None or m.group(3) is not None:
                key = m.group(1) if m.group(1) is not None else m.group(3)
                if isinstance(v, Mapping) and key in v:
                    nxt.append(v[key])
            elif m.group(2) is not None:
                i = int(m.group(2))
                if isinstance(v, list) and i < len(v):
                    nxt.append(v[i])
            elif isinstance(v, list):
                nxt.extend(v)
        values = nxt
    return values


def _printer_cell(kind: str, found: list[Any]) -> Any:
    if not found:
        return None
    value = found[0]
    if kind == "date":
        return since(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return value


def _printer(kind: str, path: str) -> Cell:
    return lambda o: _printer_cell(kind, _jsonpath(o, path))


def custom_columns(crd: Mapping[str, Any], version: str) -> list[Column]:
    for v in get(crd, "spec", "versions") or ():
        if v.get("name") != version:
            continue
        printer = v.get("additionalPrinterColumns")
        if not printer:
            return [NAME, AGE]
        cols: list[Column] = [NAME]
        for c in printer:
            kind, path = str(c.get("type", "string")), str(c.get("jsonPath", ""))
            cols.append(
                (
                    str(c.get("name", "")),
                    "string" if kind == "date" else kind,
                    int(c.get("priority", 0)),
                    _printer(kind, path),
                )
            )
        return cols
    return [NAME, AGE]


# -- the Table --------------------------------------------------------------------------------------
def columns_for(rt: ResourceType, crd: Mapping[str, Any] | None) -> list[Column]:
    if crd is not None:
        return custom_columns(crd, rt.version)
    return COLUMNS.get((rt.group, rt.kind), DEFAULT)


def _row_object(obj: JSON, include: str) -> JSON | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def table(
    columns: list[Column],
    items: Iterable[JSON],
    include: str = "Metadata",
    list_meta: JSON | None = None,
    headers: bool = True,
) -> JSON:
    defs = [
        {
            "name": name,
            "type": kind,
            "format": "name" if name == "Name" else "",
            "description": DESCRIPTIONS.get(name, name),
            "priority": priority,
        }
        for name, kind, priority, _ in columns
    ]
    rows = []
    for obj in items:
        row: JSON = {"cells": [cell(obj) for _, _, _, cell in columns]}
        included = _row_object(obj, include)
        if included is not None:
            row["object"] = included
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta or {},
        "columnDefinitions": defs if headers else [],
        "rows": rows,
    }
