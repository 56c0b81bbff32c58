"""Rendered objects checked against the Kubernetes OpenAPI schemas.

The schemas are those the ``kubernetes-validate`` package ships (strict
variants: an unknown field such as ``contianers`` is an error, as with
``kubectl apply --validate=strict``).  The Kubernetes version is the
target cluster's (from the render's capabilities), clamped to the versions
the package has; the default is :data:`DEFAULT_KUBE_VERSION`, the version
whose built-in kinds the agent knows (:mod:`agent.kube.kinds`).

Kinds without a built-in schema (custom resources) are not checked; a
built-in kind under a version the cluster does not serve
(``extensions/v1beta1`` Ingress) is an error, as the API server would say.
Messages name the object and the field, never a value (Secrets).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import RenderFailed
from agent.kube.kinds import definitions_document, schemas_root
from agent.models import Manifest, split_api_version
from agent.render.schemacheck import Compiler, checker
from agent.render.values import describe

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

DEFAULT_KUBE_VERSION = "1.33.0"
_DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"
_lock = threading.Lock()


def _schema_root() -> Path:
    return schemas_root()


@lru_cache(maxsize=1)
def shipped_versions() -> tuple[tuple[int, int], ...]:
    found = set()
    for entry in _schema_root().iterdir():
        m = re.match(r"^v(\d+)\.(\d+)\.\d+-local-strict$", entry.name)
        if m:
            found.add((int(m.group(1)), int(m.group(2))))
    return tuple(sorted(found))


def schema_version(kube_version: str) -> str:
    """The shipped schema version closest to ``kube_version`` (``1.33``)."""
    m = re.match(r"^v?(\d+)\.(\d+)", kube_version)
    wanted = (int(m.group(1)), int(m.group(2))) if m else (1, 33)
    versions = shipped_versions()
    older = [v for v in versions if v <= wanted]
    major, minor = older[-1] if older else versions[0]
    return f"{major}.{minor}"


@lru_cache(maxsize=4)
def _definitions(version: str) -> tuple[dict[str, Any], dict[tuple[str, str, str], str]]:
    """All definitions of a version, and (group, version, kind) -> definition name."""
    doc = definitions_document(f"v{version}.0-local-strict")  # shared with the diff's schema nodes
    by_gvk: dict[tuple[str, str, str], str] = {}
    for name, schema in doc["$defs"].items():
        props = schema.get("properties") or {}
        if "metadata" not in props or "apiVersion" not in props:
            continue  # not a top-level object (DeleteOptions, WatchEvent, ...)
        for gvk in schema.get("x-kubernetes-group-version-kind") or ():
            by_gvk[(gvk.get("group", ""), gvk["version"], gvk["kind"])] = name
    return doc, by_gvk


@lru_cache(maxsize=512)
def _validator(version: str, definition: str) -> Validator:
    # jsonschema and referencing load in ~90 ms: only once an object is checked.
    import jsonschema  # noqa: PLC0415
    from referencing import Registry, Resource  # noqa: PLC0415

    doc, _ = _definitions(version)
    registry: Registry[Any] = Registry().with_resource(_DEFINITIONS_ID, Resource.from_contents(doc))
    schema = {"$ref": f"{_DEFINITIONS_ID}#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


@lru_cache(maxsize=4)
def _compiler(version: str) -> Compiler:
    doc, _ = _definitions(version)
    return Compiler(doc["$defs"])


@lru_cache(maxsize=512)
def _checker(version: str, definition: str) -> Callable[[Any], bool | None]:
    """The fast check first; jsonschema only explains what it rejects (or
    decides, where the fast check does not know the schema's keywords)."""
    with _lock:
        return checker(_compiler(version), definition)


def served_api_versions(kube_version: str = DEFAULT_KUBE_VERSION) -> list[str]:
    """``group/version`` and ``group/version/Kind`` for every built-in kind
    of that Kubernetes version (Helm's ``.Capabilities.APIVersions``)."""
    with _lock:
        _, by_gvk = _definitions(schema_version(kube_version))
    out: set[str] = set()
    for group, version, kind in by_gvk:
        if kind.endswith("List"):
            continue
        gv = f"{group}/{version}" if group else version
        out.update((gv, f"{gv}/{kind}"))
    return sorted(out, key=str.encode)


def validate(manifests: Sequence[Manifest], kube_version: str) -> None:
    """Check each manifest; one RenderFailed listing the first problems."""
    version = schema_version(kube_version)
    with _lock:
        _, by_gvk = _definitions(version)
    kinds = {(g, k) for g, _, k in by_gvk}
    builtin_groups = {g for g, _, _ in by_gvk} | {"extensions"}
    problems: list[str] = []
    for m in manifests:
        group, ver = split_api_version(m.api_version)
        kind = m.obj["kind"]
        definition = by_gvk.get((group, ver, kind))
        if definition is None:
            # Custom resources have no schema here; a built-in group (one
            # Kubernetes serves, or a core one without a dot) must know the kind.
            if (group, kind) in kinds or group in builtin_groups or "." not in group:
                served = sorted(
                    f"{g}/{v}" if g else v for g, v, k in by_gvk if k == kind and g != "extensions"
                )
                hint = f"use {', '.join(served)}" if served else "no such kind"
                problems.append(
                    f"{m.source} (document {m.index + 1}): {m.api_version} {kind} is not served by "
                    f"Kubernetes {version} ({hint})"
                )
            continue
        if _checker(version, definition)(m.obj):
            continue  # valid: nothing to explain
        with _lock:
            validator = _validator(version, definition)
        errors = sorted(
            validator.iter_errors(m.obj), key=lambda e: ([str(p) for p in e.absolute_path], e.validator)
        )
        if errors:
            fields = "; ".join(describe(e) for e in errors[:5])
            problems.append(f"{m.source} (document {m.index + 1}): {m.key}: {fields}")
        if len(problems) >= 10:
            break
    if problems:
        shown = "; ".join(problems[:10])
        raise RenderFailed(f"{shown} (Kubernetes {version} schema; set openapiValidation: false to skip)")
