"""Secret values never leave the agent in clear.

A value is replaced by a token derived from a per-process random salt and the
value, so two different values give different tokens (a change is visible)
while neither can be read or guessed from a report.  Besides ``data`` and
``stringData``, a Secret's annotations can carry a copy of the whole object
(``kubectl.kubernetes.io/last-applied-configuration``, written by
``kubectl apply``): the values inside such a copy are masked the same way.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any

_SALT = secrets.token_bytes(16)
SECRET_FIELDS = ("data", "stringData")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def mask_token(value: Any) -> str:
    digest = hashlib.sha256(_SALT + str(value).encode()).hexdigest()[:10]
    return f"<secret:{digest}>"


def _mask_fields(obj: dict[str, Any]) -> dict[str, Any]:
    for field in SECRET_FIELDS:
        values = obj.get(field)
        if isinstance(values, Mapping):
            obj[field] = {k: mask_token(v) for k, v in values.items()}
    return obj


def _mask_annotation(name: str, value: Any) -> Any:
    """An annotation holding a JSON copy of the Secret: its values masked
    (the whole annotation when it cannot be read, or holds anything else
    that looks like one)."""
    if not isinstance(value, str) or not value.lstrip().startswith("{"):
        return value
    try:
        copy = json.loads(value)
    except ValueError:
        return mask_token(value)
    if not isinstance(copy, dict):
        return mask_token(value)
    if not any(f in copy for f in SECRET_FIELDS) and name != LAST_APPLIED:
        return value
    copy = _mask_fields(dict(copy))
    meta = copy.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), Mapping):
        copy["metadata"] = {**meta, "annotations": _mask_annotations(meta["annotations"])}
    return json.dumps(copy, separators=(",", ":"))


def _mask_annotations(annotations: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _mask_annotation(k, v) for k, v in annotations.items()}


def mask_secret_values(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a Secret with every ``data``/``stringData`` value masked,
    also inside annotations that copy the object."""
    out = _mask_fields(dict(obj))
    meta = out.get("metadata")
    if isinstance(meta, Mapping) and isinstance(meta.get("annotations"), Mapping):
        out["metadata"] = {**meta, "annotations": _mask_annotations(meta["annotations"])}
    return out
