"""A custom resource checked against its CRD's structural schema, as the apiextensions server does.

The order and wording follow apiextensions-apiserver's
``customResourceStrategy.Validate``: the OpenAPI schema (kube-openapi's
validator, its errors turned into field errors by
``kubeOpenAPIResultToFieldErrors``: types, ``required``, ``enum``,
``minimum``/``maximum``, ``pattern``, lengths and counts), the scale
subresource's replicas, duplicates in ``x-kubernetes-list-type`` ``set`` and
``map`` lists, then the ``x-kubernetes-validations`` CEL rules, which are not
run when an earlier error would make them meaningless (``hasBlockingErr``).
CEL is evaluated by the ``common-expression-language`` package (``cel``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import cel

from agent.emulator.admission.causes import Cause, invalid, required, unsupported

_TYPES = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, Mapping),
    "array": lambda v: isinstance(v, list),
}
_BLOCKING = {"FieldValueNotSupported", "FieldValueRequired", "FieldValueTooLong", "FieldValueTooMany"}
_BLOCKING |= {"FieldValueTypeInvalid"}
_ROOT_SKIPPED = ("apiVersion", "kind", "metadata")


def type_name(value: Any) -> str:
    """The JSON type of a value, as the validator names it."""
    if value is None:
        return "null"
    for name in ("boolean", "integer", "number", "string", "object", "array"):
        if _TYPES[name](value):
            return name
    return "unknown"


def _go(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def custom_causes(
    obj: Mapping[str, Any], schema: Mapping[str, Any], old: Mapping[str, Any] | None, scale: Mapping[str, Any]
) -> list[Cause]:
    """Every complaint about ``obj`` (``old``: the object it replaces, for transition rules)."""
    found: list[Cause] = []
    props = schema.get("properties") or {}
    for key in sorted(obj):
        if key not in _ROOT_SKIPPED and key in props:
            _check(obj[key], props[key], key, found)
    found += _scale_causes(obj, scale)
    for key in sorted(obj):
        if key not in _ROOT_SKIPPED and key in props:
            _lists(obj[key], props[key], key, found)
    if not _has_rules(schema):
        return found
    if any(c.reason in _BLOCKING for c in found):
        found.append(
            Cause(
                "<nil>",
                "FieldValueInvalid",
                "Invalid value: null: some validation rules were not checked because the object was "
                "invalid; correct the existing errors to complete validation",
            )
        )
        return found
    for key in sorted(obj):
        if key not in _ROOT_SKIPPED and key in props:
            _rules(obj[key], props[key], (old or {}).get(key), key, found)
    return found


def _has_rules(schema: Any) -> bool:
    """Whether any node of the schema carries CEL rules (else no CEL validator exists)."""
    if isinstance(schema, Mapping):
        return "x-kubernetes-validations" in schema or any(_has_rules(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_has_rules(v) for v in schema)
    return False


def _check(value: Any, schema: Mapping[str, Any], path: str, found: list[Cause]) -> None:
    if value is None:
        return  # nulls are pruned unless nullable, before validation
    declared = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            found.append(_type_invalid(path, value, "integer"))
            return
    elif declared and not _TYPES.get(declared, lambda _: True)(value):
        found.append(_type_invalid(path, value, str(declared)))
        return
    # kube-openapi's validators in their order: string, number, slice, enum, object
    if isinstance(value, str):
        _string(value, schema, path, found)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _number(value, schema, path, found)
    elif isinstance(value, list):
        _array(value, schema, path, found)
    if "enum" in schema and value not in schema["enum"]:
        shown = tuple(v if isinstance(v, str) else json.dumps(v) for v in schema["enum"])
        found.append(unsupported(path, value, shown))
    if isinstance(value, Mapping):
        _object(value, schema, path, found)


def _type_invalid(path: str, value: Any, declared: str) -> Cause:
    got = type_name(value)  # the validator reports the type it found, in place of the value
    detail = f'{path} in body must be of type {declared}: "{got}"'
    return Cause(path, "FieldValueTypeInvalid", f'Invalid value: "{got}": {detail}')


def _string(value: str, schema: Mapping[str, Any], path: str, found: list[Cause]) -> None:
    """The first of maxLength, minLength and pattern that fails (kube-openapi's string validator)."""
    longest, shortest = schema.get("maxLength"), schema.get("minLength")
    pattern = schema.get("pattern")
    if isinstance(longest, int) and len(value) > longest:
        found.append(Cause(path, "FieldValueTooLong", f"Too long: may not be more than {longest} bytes"))
    elif isinstance(shortest, int) and len(value) < shortest:
        found.append(invalid(path, value, f"{path} in body should be at least {shortest} chars long"))
    elif isinstance(pattern, str) and _compiled(pattern).search(value) is None:
        found.append(invalid(path, value, f"{path} in body should match '{pattern}'"))


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error:
        return re.compile(re.escape(pattern))


def _number(value: float, schema: Mapping[str, Any], path: str, found: list[Cause]) -> None:
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, (int, float)):
        if schema.get("exclusiveMinimum") and value <= low:
            found.append(invalid(path, value, f"{path} in body should be greater than {low}"))
        elif value < low:
            found.append(invalid(path, value, f"{path} in body should be greater than or equal to {low}"))
    if isinstance(high, (int, float)):
        if schema.get("exclusiveMaximum") and value >= high:
            found.append(invalid(path, value, f"{path} in body should be less than {high}"))
        elif value > high:
            found.append(invalid(path, value, f"{path} in body should be less than or equal to {high}"))
    factor = schema.get("multipleOf")
    if isinstance(factor, (int, float)) and factor > 0 and (value / factor) % 1:
        found.append(invalid(path, value, f"{path} in body should be a multiple of {factor}"))


def _array(value: list[Any], schema: Mapping[str, Any], path: str, found: list[Cause]) -> None:
    most, least = schema.get("maxItems"), schema.get("minItems")
    if isinstance(most, int) and len(value) > most:
        found.append(
            Cause(path, "FieldValueTooMany", f"Too many: {len(value)}: must have at most {most} items")
        )
    if isinstance(least, int) and len(value) < least:
        found.append(invalid(path, len(value), f"{path} in body should have at least {least} items"))
    items = schema.get("items")
    if isinstance(items, Mapping):
        for i, item in enumerate(value):
            _check(item, items, f"{path}[{i}]", found)


def _too_many(path: str, count: int, most: int) -> Cause:
    return Cause(path, "FieldValueTooMany", f"Too many: {count}: must have at most {most} items")


def _object(value: Mapping[str, Any], schema: Mapping[str, Any], path: str, found: list[Cause]) -> None:
    most, least = schema.get("maxProperties"), schema.get("minProperties")
    if isinstance(most, int) and len(value) > most:
        found.append(
            Cause(path, "FieldValueTooMany", f"Too many: {len(value)}: must have at most {most} items")
        )
    if isinstance(least, int) and len(value) < least:
        found.append(invalid(path, len(value), f"{path} in body should have at least {least} properties"))
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key in sorted(value):
        if key in props:
            _check(value[key], props[key], f"{path}.{key}", found)
        elif isinstance(extra, Mapping):
            _check(value[key], extra, f"{path}[{key}]", found)
    for name in schema.get("required") or ():
        if name not in value or value[name] is None:
            found.append(required(f"{path}.{name}"))


# -- list types ---------------------------------------------------------------------------------
def _lists(value: Any, schema: Mapping[str, Any], path: str, found: list[Cause]) -> None:
    if isinstance(value, list):
        list_type = schema.get("x-kubernetes-list-type")
        seen: list[Any] = []
        keys = tuple(schema.get("x-kubernetes-list-map-keys") or ())
        for i, item in enumerate(value):
            if list_type == "set":
                marker = item
            elif list_type == "map" and isinstance(item, Mapping):
                marker = {k: item.get(k) for k in keys if k in item}
            else:
                marker = None
            if marker is not None and marker in seen:
                found.append(Cause(f"{path}[{i}]", "FieldValueDuplicate", f"Duplicate value: {_go(marker)}"))
            elif marker is not None:
                seen.append(marker)
        items = schema.get("items")
        if isinstance(items, Mapping):
            for i, item in enumerate(value):
                _lists(item, items, f"{path}[{i}]", found)
    elif isinstance(value, Mapping):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key in sorted(value):
            sub = props.get(key) if key in props else extra
            if isinstance(sub, Mapping):
                _lists(value[key], sub, f"{path}.{key}" if key in props else f"{path}[{key}]", found)


# -- CEL rules ----------------------------------------------------------------------------------
_REASONS = {
    "FieldValueForbidden": "Forbidden",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
}


def _rules(value: Any, schema: Mapping[str, Any], old: Any, path: str, found: list[Cause]) -> None:
    if value is None:
        return
    for rule in schema.get("x-kubernetes-validations") or ():
        cause = _rule(value, old, rule, schema, path)
        if cause is not None:
            found.append(cause)
    props = schema.get("properties") or {}
    if isinstance(value, Mapping):
        old_map = old if isinstance(old, Mapping) else {}
        extra = schema.get("additionalProperties")
        for key in sorted(value):
            sub = props.get(key) if key in props else extra
            where = f"{path}.{key}" if key in props else f"{path}[{key}]"
            if isinstance(sub, Mapping):
                _rules(value[key], sub, old_map.get(key), where, found)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        keys = tuple(schema.get("x-kubernetes-list-map-keys") or ())
        for i, item in enumerate(value):
            _rules(item, schema["items"], _old_item(item, old, keys), f"{path}[{i}]", found)


def _old_item(item: Any, old: Any, keys: tuple[str, ...]) -> Any:
    """The item a list-map's old value had under the same keys (transition rules correlate by keys)."""
    if not keys or not isinstance(old, list) or not isinstance(item, Mapping):
        return None
    for candidate in old:
        if isinstance(candidate, Mapping) and all(candidate.get(k) == item.get(k) for k in keys):
            return candidate
    return None


def _rule(
    value: Any, old: Any, rule: Mapping[str, Any], schema: Mapping[str, Any], path: str
) -> Cause | None:
    source = str(rule.get("rule", ""))
    if "oldSelf" in source and old is None and not rule.get("optionalOldSelf"):
        return None  # a transition rule: only on an update that had the value
    variables: dict[str, Any] = {"self": value}
    if "oldSelf" in source:
        variables["oldSelf"] = old
    try:
        passed = cel.evaluate(source, variables)
    except Exception as e:
        return invalid(path, _shown_type(value, schema), f"{source}: {e}")
    if passed is True:
        return None
    message = str(rule.get("message") or "")
    if not message and rule.get("messageExpression"):
        try:
            message = str(cel.evaluate(str(rule["messageExpression"]), variables))
        except Exception:
            message = ""
    message = message or f"failed rule: {source}"
    where = path + str(rule.get("fieldPath") or "")
    reason = str(rule.get("reason") or "FieldValueInvalid")
    if reason in _REASONS:
        return Cause(where, reason, f"{_REASONS[reason]}: {message}")
    return Cause(where, "FieldValueInvalid", f"Invalid value: {message}")  # the value is not shown


def _shown_type(value: Any, schema: Mapping[str, Any]) -> str:
    """A rule's failure shows the value's schema type in place of the value itself."""
    return str(schema.get("type") or type_name(value))


_GO_TYPES = {
    "string": "string",
    "number": "float64",
    "boolean": "bool",
    "object": "map[string]interface {}",
    "array": "[]interface {}",
}


def _plain(value: Any) -> str:
    """A value as Go's ``%v`` prints it (enough for the scalars a replicas path may hold)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _scale_causes(obj: Mapping[str, Any], scale: Mapping[str, Any]) -> list[Cause]:
    """The scale subresource's replicas paths hold non-negative integers (``ValidateScaleSpec``)."""
    found: list[Cause] = []
    for key in ("specReplicasPath", "statusReplicasPath"):
        path = scale.get(key)
        if not isinstance(path, str) or not path:
            continue
        value: Any = obj
        for part in path.strip(".").split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            got = _GO_TYPES.get(type_name(value), "interface {}")
            found.append(
                invalid(
                    path, 0, f"{path} accessor error: {_plain(value)} is of the type {got}, expected int64"
                )
            )
        elif value < 0:
            found.append(invalid(path, value, "should be a non-negative integer"))
    return found
