"""Secret values never leave the agent in clear.

A value is replaced by a token derived from a per-process random salt and the
value, so two different values give different tokens (a change is visible)
while neither can be read or guessed from a report.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

_SALT = secrets.token_bytes(16)
SECRET_FIELDS = ("data", "stringData")


def mask_token(value: Any) -> str:
    digest = hashlib.sha256(_SALT + str(value).encode()).hexdigest()[:10]
    return f"<secret:{digest}>"


def mask_secret_values(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a Secret with every ``data``/``stringData`` value masked."""
    out = dict(obj)
    for field in SECRET_FIELDS:
        values = out.get(field)
        if isinstance(values, Mapping):
            out[field] = {k: mask_token(v) for k, v in values.items()}
    return out
