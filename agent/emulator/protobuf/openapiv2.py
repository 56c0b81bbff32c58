"""The OpenAPI v2 document as protobuf (``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``).

kubectl 1.27 and 1.28 ask for ``/openapi/v2`` in this form only (client-side
``apply``, ``create -f``, ``explain``): gnostic's ``openapi_v2.Document``
message, which the API server makes from the same document it serves as
JSON.  The encoding follows gnostic's compiler (``gnostic-models/openapiv2``,
``OpenAPIv2.proto``): maps become repeated ``Named*`` pairs, the ``x-``
vendor extensions and every free-form value (``default``, ``enum``,
``example``) an ``Any`` holding its YAML (JSON is YAML, and kube-openapi reads
them back with a YAML parser), and the JSON schema's either-or fields
(``type``, ``items``, ``additionalProperties``, a parameter's place) their
``oneof`` messages.  The field numbers below are those of that file (v0.7.x);
only the messages a Kubernetes document uses are listed.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Mapping
from typing import Any

# kube-openapi answers either form it is asked for with the dotted one: the other's ``@``
# is no token character, and a Go client's media-type parser refuses it.
MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
Encoder = Callable[[Any], bytes]

# -- the wire format ------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s as ten bytes, as protobuf writes them
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _tag(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _bytes(number: int, data: bytes) -> bytes:
    return _tag(number, 2) + _varint(len(data)) + data


def _string(number: int, value: Any) -> bytes:
    return _bytes(number, str(value).encode())


def _scalar(number: int, kind: str, value: Any) -> bytes:  # noqa: PLR0911 - one return per kind
    if kind == "string":
        return _string(number, value)
    if kind == "bool":
        return _tag(number, 0) + _varint(1) if value else b""
    if kind == "int64":
        return _tag(number, 0) + _varint(int(value))
    if kind == "double":
        return _tag(number, 1) + struct.pack("<d", float(value))
    if kind == "any":
        return _bytes(number, _any(value))
    if kind == "strings":
        items = value if isinstance(value, list) else [value]
        return b"".join(_string(number, v) for v in items)
    return _bytes(number, ENCODERS[kind](value))


def _any(value: Any) -> bytes:
    """gnostic's ``Any``: the value's YAML (here its JSON) in field 2."""
    return _string(2, json.dumps(value, separators=(",", ":")))


def _message(fields: Mapping[str, tuple[int, str]], vendor: int | None) -> Encoder:
    """An encoder of one message: JSON key -> (field number, kind); ``x-`` keys into ``vendor``."""

    def encode(obj: Any) -> bytes:
        if not isinstance(obj, Mapping):
            return b""
        out = bytearray()
        for key, value in obj.items():
            if value is None:
                continue
            if key in fields:
                number, kind = fields[key]
                if kind.startswith("[]"):
                    out += b"".join(_scalar(number, kind[2:], v) for v in value or ())
                else:
                    out += _scalar(number, kind, value)
            elif vendor is not None and key.startswith("x-"):
                out += _bytes(vendor, _string(1, key) + _bytes(2, _any(value)))
        return bytes(out)

    return encode


def _named(value_kind: str) -> Encoder:
    """A JSON object as repeated ``Named*`` (name 1, value 2) in field 1."""

    def encode(obj: Any) -> bytes:
        return b"".join(
            _bytes(1, _string(1, name) + _scalar(2, value_kind, value)) for name, value in (obj or {}).items()
        )

    return encode


# -- the either-or messages -----------------------------------------------------------------------


def _type_item(value: Any) -> bytes:
    return _scalar(1, "strings", value)


def _items_item(value: Any) -> bytes:
    schemas = value if isinstance(value, list) else [value]
    return b"".join(_bytes(1, _schema(s)) for s in schemas)


def _additional(value: Any) -> bytes:
    if isinstance(value, bool):
        return _tag(2, 0) + _varint(int(value))
    return _bytes(1, _schema(value))


def _parameters_item(value: Any) -> bytes:
    if isinstance(value, Mapping) and "$ref" in value:
        return _bytes(2, _JSON_REFERENCE(value))
    where = str((value or {}).get("in", ""))
    if where == "body":
        return _bytes(1, _bytes(1, _BODY_PARAMETER(value)))
    plain = dict(value or {})
    schema = plain.pop("schema", None)
    if isinstance(schema, Mapping):  # a parameter's type given as a schema (OpenAPI v3's way)
        for key in ("type", "format", "items"):
            if key in schema and key not in plain:
                plain[key] = schema[key]
    which, encoder = _NON_BODY.get(where, _NON_BODY["query"])
    return _bytes(1, _bytes(2, _bytes(which, encoder(plain))))


def _response_value(value: Any) -> bytes:
    if isinstance(value, Mapping) and "$ref" in value:
        return _bytes(2, _JSON_REFERENCE(value))
    return _bytes(1, _RESPONSE(value))


def _schema_item(value: Any) -> bytes:
    return _bytes(1, _schema(value))


def _security_item(value: Any) -> bytes:
    if (value or {}).get("type") == "basic":
        return _bytes(1, _BASIC_SECURITY(value))
    return _bytes(2, _API_KEY_SECURITY(value))


def _security_requirement(value: Any) -> bytes:
    return _named("string_array")(value)


def _string_array(value: Any) -> bytes:
    return _scalar(1, "strings", list(value or ()))


def _paths(value: Any) -> bytes:
    out = bytearray()
    for name, item in (value or {}).items():
        if name.startswith("x-"):
            out += _bytes(1, _string(1, name) + _bytes(2, _any(item)))
        else:
            out += _bytes(2, _string(1, name) + _bytes(2, _PATH_ITEM(item)))
    return bytes(out)


def _responses(value: Any) -> bytes:
    out = bytearray()
    for code, item in (value or {}).items():
        if code.startswith("x-"):
            out += _bytes(2, _string(1, code) + _bytes(2, _any(item)))
        else:
            out += _bytes(1, _string(1, code) + _bytes(2, _response_value(item)))
    return bytes(out)


# -- the messages ---------------------------------------------------------------------------------
_NUMERIC = {
    "multipleOf": "double",
    "maximum": "double",
    "exclusiveMaximum": "bool",
    "minimum": "double",
    "exclusiveMinimum": "bool",
    "maxLength": "int64",
    "minLength": "int64",
    "pattern": "string",
    "maxItems": "int64",
    "minItems": "int64",
    "uniqueItems": "bool",
}


def _numbered(first: int, names: list[str], kinds: Mapping[str, str]) -> dict[str, tuple[int, str]]:
    return {name: (first + i, kinds[name]) for i, name in enumerate(names)}


_schema = _message(
    {
        "$ref": (1, "string"),
        "format": (2, "string"),
        "title": (3, "string"),
        "description": (4, "string"),
        "default": (5, "any"),
        **_numbered(6, list(_NUMERIC), _NUMERIC),
        "maxProperties": (17, "int64"),
        "minProperties": (18, "int64"),
        "required": (19, "strings"),
        "enum": (20, "[]any"),
        "additionalProperties": (21, "additional"),
        "type": (22, "type_item"),
        "items": (23, "items_item"),
        "allOf": (24, "[]schema"),
        "properties": (25, "properties"),
        "discriminator": (26, "string"),
        "readOnly": (27, "bool"),
        "example": (30, "any"),
    },
    vendor=31,
)


def _sub_schema(*, allow_empty: bool) -> Encoder:
    """A query or form parameter (``allowEmptyValue`` at 5) or a path or header one."""
    head = ["required", "in", "description", "name"] + (["allowEmptyValue"] if allow_empty else [])
    kinds = {"required": "bool", "in": "string", "description": "string", "name": "string"}
    fields = _numbered(1, head, {**kinds, "allowEmptyValue": "bool"})
    at = len(head) + 1
    fields |= {
        "type": (at, "string"),
        "format": (at + 1, "string"),
        "items": (at + 2, "primitives"),
        "collectionFormat": (at + 3, "string"),
        "default": (at + 4, "any"),
    }
    fields |= _numbered(at + 5, [n for n in _NUMERIC if n != "multipleOf"], _NUMERIC)
    fields["enum"] = (at + 16, "[]any")
    fields["multipleOf"] = (at + 17, "double")
    return _message(fields, vendor=at + 18)


_PRIMITIVES = _message(
    {
        "type": (1, "string"),
        "format": (2, "string"),
        "items": (3, "primitives"),
        "collectionFormat": (4, "string"),
    }
    | {"default": (5, "any"), "enum": (16, "[]any")},
    vendor=18,
)
_JSON_REFERENCE = _message({"$ref": (1, "string"), "description": (2, "string")}, vendor=None)
_BODY_PARAMETER = _message(
    {
        "description": (1, "string"),
        "name": (2, "string"),
        "in": (3, "string"),
        "required": (4, "bool"),
        "schema": (5, "schema"),
    },
    vendor=6,
)
_NON_BODY: dict[str, tuple[int, Encoder]] = {
    "header": (1, _sub_schema(allow_empty=False)),
    "formData": (2, _sub_schema(allow_empty=True)),
    "query": (3, _sub_schema(allow_empty=True)),
    "path": (4, _sub_schema(allow_empty=False)),
}
_RESPONSE = _message({"description": (1, "string"), "schema": (2, "schema_item")}, vendor=5)
_OPERATION = _message(
    {
        "tags": (1, "strings"),
        "summary": (2, "string"),
        "description": (3, "string"),
        "operationId": (5, "string"),
        "produces": (6, "strings"),
        "consumes": (7, "strings"),
        "parameters": (8, "[]parameters_item"),
        "responses": (9, "responses"),
        "schemes": (10, "strings"),
        "deprecated": (11, "bool"),
        "security": (12, "[]security_requirement"),
    },
    vendor=13,
)
_VERBS = ("get", "put", "post", "delete", "options", "head")
_PATH_ITEM = _message(
    {"$ref": (1, "string")}
    | {
        verb: (2 + i, "operation")
        for i, verb in enumerate(("get", "put", "post", "delete", "options", "head"))
    }
    | {"patch": (8, "operation"), "parameters": (9, "[]parameters_item")},
    vendor=10,
)
_API_KEY_SECURITY = _message(
    {"type": (1, "string"), "name": (2, "string"), "in": (3, "string"), "description": (4, "string")},
    vendor=5,
)
_BASIC_SECURITY = _message({"type": (1, "string"), "description": (2, "string")}, vendor=3)
_INFO = _message({"title": (1, "string"), "version": (2, "string"), "description": (3, "string")}, vendor=7)
_DOCUMENT = _message(
    {
        "swagger": (1, "string"),
        "info": (2, "info"),
        "host": (3, "string"),
        "basePath": (4, "string"),
        "schemes": (5, "strings"),
        "consumes": (6, "strings"),
        "produces": (7, "strings"),
        "paths": (8, "paths"),
        "definitions": (9, "definitions"),
        "security": (12, "[]security_requirement"),
        "securityDefinitions": (13, "security_definitions"),
    },
    vendor=16,
)

ENCODERS: dict[str, Encoder] = {
    "schema": _schema,
    "type_item": _type_item,
    "items_item": _items_item,
    "additional": _additional,
    "properties": _named("schema"),
    "definitions": _named("schema"),
    "primitives": _PRIMITIVES,
    "parameters_item": _parameters_item,
    "responses": _responses,
    "schema_item": _schema_item,
    "operation": _OPERATION,
    "paths": _paths,
    "info": _INFO,
    "security_requirement": _security_requirement,
    "string_array": _string_array,
    "security_item": _security_item,
    "security_definitions": _named("security_item"),
}


def encode_document(doc: Mapping[str, Any]) -> bytes:
    """The ``openapi_v2.Document`` message of an OpenAPI v2 document."""
    return _DOCUMENT(doc)
