"""The causes of a 422 Invalid, and the name and label rules every kind shares.

A :class:`Cause` is one field's complaint, with the reason and message the
API server's ``field.ErrorList`` gives it (``field/errors.go``);
:func:`raise_invalid` makes the Status of them.  Name rules (DNS-1123
subdomain, label, or path segment, by kind) and label syntax follow
``apimachinery/pkg/util/validation``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.kube.errors import Invalid
from agent.kube.kinds import ResourceType

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAMED = {("", "Namespace"), ("", "Service")}
_PATH_SEGMENT_NAMED = {"rbac.authorization.k8s.io"}


@dataclass(frozen=True)
class Cause:
    field: str
    reason: str  # FieldValueRequired, FieldValueInvalid, FieldValueForbidden, ...
    message: str

    def text(self) -> str:
        return f"{self.field}: {self.message}"


def _go(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def required(field: str, detail: str = "") -> Cause:
    return Cause(field, "FieldValueRequired", "Required value" + (f": {detail}" if detail else ""))


def invalid(field: str, value: Any, detail: str) -> Cause:
    shown = f'"{value}"' if isinstance(value, str) else _go(value)
    return Cause(field, "FieldValueInvalid", f"Invalid value: {shown}: {detail}")


def forbidden(field: str, detail: str) -> Cause:
    return Cause(field, "FieldValueForbidden", f"Forbidden: {detail}")


def unsupported(field: str, value: Any, supported: tuple[str, ...]) -> Cause:
    options = ", ".join(f'"{s}"' for s in supported)
    return Cause(
        field, "FieldValueNotSupported", f'Unsupported value: "{value}": supported values: {options}'
    )


def raise_invalid(rt: ResourceType, name: str, causes: list[Cause]) -> None:
    if not causes:
        return
    qualified = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    body = causes[0].text() if len(causes) == 1 else "[" + ", ".join(c.text() for c in causes) + "]"
    raise Invalid(
        f'{qualified} "{name}" is invalid: {body}',
        details={
            "name": name,
            "group": rt.group,
            "kind": rt.kind,
            "causes": [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes],
        },
    )


def check_patch_options(*, apply: bool, manager: str, force_given: bool) -> None:
    """A PATCH's options as ``ValidatePatchOptions`` checks them (apiserver's
    ``endpoints/handlers/patch.go``): an apply names its field manager; only an apply forces."""
    causes = []
    if not apply and force_given:
        causes.append(forbidden("force", "may not be specified for non-apply patch"))
    if apply and not manager:
        # kubectl defaults it, but a controller must set it
        causes.append(required("fieldManager", "is required for apply patch"))
    if causes:
        body = causes[0].text() if len(causes) == 1 else "[" + ", ".join(c.text() for c in causes) + "]"
        raise Invalid(
            f'PatchOptions.meta.k8s.io "" is invalid: {body}',
            details={
                "group": "meta.k8s.io",
                "kind": "PatchOptions",
                "causes": [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes],
            },
        )


_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def name_causes(rt: ResourceType, name: Any, field: str = "metadata.name") -> list[Cause]:
    if not isinstance(name, str) or not name:
        return [required(field, "name or generateName is required")]
    if rt.group in _PATH_SEGMENT_NAMED:
        bad = name in (".", "..") or "/" in name or "%" in name
        message = "may not contain '/' or '%' and may not be '.' or '..'"
    elif (rt.group, rt.kind) in _LABEL_NAMED:
        bad = len(name) > 63 or not DNS1123_LABEL.match(name)
        message = _LABEL_MESSAGE
    else:
        bad = len(name) > 253 or not DNS1123_SUBDOMAIN.match(name)
        message = _SUBDOMAIN_MESSAGE
    return [invalid(field, name, message)] if bad else []


ANNOTATIONS_MAX_BYTES = 256 * 1024


def annotation_causes(annotations: Any) -> list[Cause]:
    """All annotations together, keys and values, fit in 256 KiB (``ValidateAnnotationsSize``)."""
    if not isinstance(annotations, Mapping):
        return []
    total = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in annotations.items())
    if total > ANNOTATIONS_MAX_BYTES:
        detail = f"Too long: may not be more than {ANNOTATIONS_MAX_BYTES} bytes"
        return [Cause("metadata.annotations", "FieldValueTooLong", detail)]
    return []


def label_causes(labels: Any, field: str) -> list[Cause]:
    causes: list[Cause] = []
    if not isinstance(labels, Mapping):
        return causes
    for key, value in labels.items():
        prefix, _, name = str(key).rpartition("/")
        if (
            not name
            or len(name) > 63
            or not _QUALIFIED_NAME.match(name)
            or (prefix and not DNS1123_SUBDOMAIN.match(prefix))
        ):
            causes.append(
                invalid(f"{field}", key, "name part must consist of alphanumeric characters, '-', '_' or '.'")
            )
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                invalid(
                    f"{field}",
                    value,
                    "a valid label must be an empty string or consist of "
                    "alphanumeric characters, '-', '_' or '.'",
                )
            )
    return causes


def selector_matches(selector: Any, labels: Any) -> bool:
    if not isinstance(selector, Mapping):
        return False
    labels = labels if isinstance(labels, Mapping) else {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or ():
        op, key, values = expr.get("operator"), expr.get("key"), expr.get("values") or []
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and labels.get(key) in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True
