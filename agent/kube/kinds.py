"""Resource kinds known without asking a cluster: versions, scope and plural.

The render stage needs the scope of a kind to give namespaced objects the
app's namespace, the planner needs an apply order, and the emulated cluster
serves exactly these kinds (plus CustomResourceDefinitions created at run
time).  None of these facts are typed in by hand: ``scripts/generate_kinds.py``
reads them from two packaged copies of the Kubernetes API description, for
one Kubernetes release (:data:`KUBERNETES_VERSION`), and writes them to the
checked-in table :mod:`agent.kube.builtin_kinds` (as lightkube generates its
models once per release rather than reading the OpenAPI document at run
time).  A test regenerates the table and compares, so a package bump that
changes a kind fails until the script is rerun.

At run time this module reads that table, and the OpenAPI definitions of
``kubernetes-validate`` (:func:`definitions`) only when a schema is walked.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from agent.kube import builtin_kinds

KUBERNETES_VERSION = "v1.33.0"


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = (
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    )
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()  # every version the kind is served in, preferred first

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def definition(self) -> str:
        """The OpenAPI definition name of the kind (``io.k8s.api.apps.v1.Deployment``)."""
        return _definition_names().get((self.group, self.version, self.kind), "")


# -- the packaged API description ---------------------------------------------------------
def schemas_root() -> Path:
    """The folder of every JSON schema ``kubernetes-validate`` ships, found
    without importing the package (which imports jsonschema)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the kubernetes-validate package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


def schema_dir() -> Path:
    """The folder of ``kubernetes-validate``'s strict JSON schemas for :data:`KUBERNETES_VERSION`."""
    return schemas_root() / f"{KUBERNETES_VERSION}-local-strict"


@lru_cache(maxsize=4)
def definitions_document(folder: str) -> dict[str, Any]:
    """A release's ``_definitions.json`` (``folder``: ``v1.33.0-local-strict``),
    loaded once for the schema check and for the diff's schema nodes: 3 MB
    of dicts each time it is loaded.  Strict: an object's fields are closed
    with ``additionalProperties: false``, which the lenient folder leaves out
    (and says nothing else differently)."""
    with (schemas_root() / folder / "_definitions.json").open() as f:
        doc: dict[str, Any] = json.load(f)
    return doc


def definitions() -> dict[str, Any]:
    """Every OpenAPI definition of the release, by name (``$ref`` targets)."""
    defs: dict[str, Any] = definitions_document(schema_dir().name)["$defs"]
    return defs


@cache
def _definition_names() -> dict[tuple[str, str, str], str]:
    out: dict[tuple[str, str, str], str] = {}
    for name, body in definitions().items():
        for gvk in body.get("x-kubernetes-group-version-kind") or ():
            out.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
    return out


_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int]:
    """Sort key: GA before beta before alpha, higher numbers first (as discovery orders them)."""
    m = _VERSION.match(version)
    if m is None:
        return (3, 0, 0)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0))


BUILTIN: tuple[ResourceType, ...] = tuple(ResourceType(**t) for t in builtin_kinds.TYPES)
"""The built-in kinds, from the generated table."""


@cache
def _by_group_kind() -> dict[tuple[str, str], ResourceType]:
    return {(t.group, t.kind): t for t in BUILTIN}


def builtin(group: str, kind: str) -> ResourceType | None:
    return _by_group_kind().get((group, kind))


def crd_resource_types(crd: Mapping[str, Any]) -> list[ResourceType]:
    """The resource types a CustomResourceDefinition object declares."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    group = str(spec.get("group", ""))
    served = [v for v in spec.get("versions") or () if v.get("served", True)]
    ordered = tuple(sorted((str(v.get("name")) for v in served), key=version_priority))
    return [
        ResourceType(
            group,
            str(v.get("name")),
            str(names.get("kind", "")),
            str(names.get("plural", "")),
            namespaced,
            tuple(names.get("shortNames") or ()),
            subresources=tuple(sorted((v.get("subresources") or {}).keys())),
            categories=tuple(names.get("categories") or ()),
            versions=ordered,
        )
        for v in served
    ]


def scope_of(group: str, kind: str, extra: Iterable[ResourceType] = ()) -> bool | None:
    """Whether a kind is namespaced: from ``extra`` (the CRDs of the same
    render), the built-in kinds of the release (every one, by the generated
    scope table), or None when nobody here knows (a custom resource whose
    CRD is on the cluster only: ask its discovery)."""
    for t in extra:
        if t.group == group and t.kind == kind:
            return t.namespaced
    known = builtin(group, kind)
    if known is not None:
        return known.namespaced
    key = f"{group}/{kind}"
    if key in builtin_kinds.CLUSTER_SCOPED:
        return False
    if key in builtin_kinds.NAMESPACED:
        return True
    return None


def is_namespaced(group: str, kind: str, extra: Iterable[ResourceType] = ()) -> bool:
    """Scope of a kind; kinds nobody declared are taken as namespaced, which
    is what almost every custom resource is."""
    found = scope_of(group, kind, extra)
    return True if found is None else found
