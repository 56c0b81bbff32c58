"""Resource kinds known without asking a cluster: versions, scope and plural.

The render stage needs the scope of a kind to give namespaced objects the
app's namespace, the planner needs an apply order, and the emulated cluster
serves exactly these kinds (plus CustomResourceDefinitions created at run
time).  None of these facts are typed in by hand; they come from two packaged
copies of the Kubernetes API description, for one Kubernetes release
(:data:`KUBERNETES_VERSION`):

* **kinds and versions** from the OpenAPI schemas shipped by
  ``kubernetes-validate`` (``x-kubernetes-group-version-kind`` of each
  definition).  A kind served in several versions (autoscaling v1 and v2) is
  served by the emulator in its preferred one: GA before beta before alpha,
  the highest number first, as the API server orders discovery.
* **scope, plural, verbs and subresources** are not part of those schemas
  (they live in the API server's *paths*).  ``lightkube-models`` is generated
  from the same release's full OpenAPI document including the paths, and
  states them as literal data (``plural=``, ``verbs=``, a Namespaced or Global
  base class, ``action='status'`` subresources).  Its modules are read as
  syntax trees, never imported, so the pure core stays free of any client.

Short names and categories exist only in live discovery (no schema carries
them); :data:`SHORT_NAMES` records those of ``kubectl api-resources``.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib.util
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

KUBERNETES_VERSION = "v1.33.0"

# The kinds an application uses, which the emulated cluster serves.
APPLICATION_KINDS: tuple[tuple[str, str], ...] = (
    ("", "Namespace"),
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("", "Pod"),
    ("", "PersistentVolumeClaim"),
    ("", "PersistentVolume"),
    ("", "Event"),
    ("", "Endpoints"),
    ("", "LimitRange"),
    ("", "ResourceQuota"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("apps", "ControllerRevision"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("networking.k8s.io", "IngressClass"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"),
    ("coordination.k8s.io", "Lease"),
    ("storage.k8s.io", "StorageClass"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
)

SHORT_NAMES: dict[str, tuple[str, ...]] = {
    "Namespace": ("ns",),
    "ConfigMap": ("cm",),
    "Service": ("svc",),
    "ServiceAccount": ("sa",),
    "Pod": ("po",),
    "PersistentVolumeClaim": ("pvc",),
    "PersistentVolume": ("pv",),
    "Event": ("ev",),
    "Endpoints": ("ep",),
    "LimitRange": ("limits",),
    "ResourceQuota": ("quota",),
    "Deployment": ("deploy",),
    "StatefulSet": ("sts",),
    "DaemonSet": ("ds",),
    "ReplicaSet": ("rs",),
    "CronJob": ("cj",),
    "Ingress": ("ing",),
    "NetworkPolicy": ("netpol",),
    "HorizontalPodAutoscaler": ("hpa",),
    "PodDisruptionBudget": ("pdb",),
    "StorageClass": ("sc",),
    "PriorityClass": ("pc",),
    "CustomResourceDefinition": ("crd", "crds"),
}
_CATEGORY_ALL = {
    "Pod",
    "Service",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
}


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
    """The folder of ``kubernetes-validate``'s JSON schemas for :data:`KUBERNETES_VERSION`."""
    return schemas_root() / f"{KUBERNETES_VERSION}-local"


@cache
def definitions() -> dict[str, Any]:
    """Every OpenAPI definition of the release, by name (``$ref`` targets)."""
    with (schema_dir() / "_definitions.json").open() as f:
        defs: dict[str, Any] = json.load(f)["$defs"]
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


@dataclass(frozen=True)
class _Paths:
    plural: str
    namespaced: bool
    verbs: tuple[str, ...]
    subresources: tuple[str, ...]


# lightkube's verb names -> the API server's discovery verbs
_VERB_NAMES = {"post": "create", "put": "update", "global_list": "", "global_watch": ""}


@cache
def _api_paths() -> dict[tuple[str, str, str], _Paths]:
    """Scope, plural, verbs and subresources by (group, version, kind), read
    from lightkube-models' generated modules as syntax trees."""
    spec = importlib.util.find_spec("lightkube")  # found, not imported (nor importlib.metadata)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("lightkube-models is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "resources"
    out: dict[tuple[str, str, str], _Paths] = {}
    subs: dict[tuple[str, str, str], list[str]] = {}
    for module in sorted(folder.glob("*.py")):
        for node in ast.parse(module.read_text()).body:
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {ast.unparse(b) for b in node.bases}
            info = _api_info(node)
            if info is None:
                continue
            resource = info.get("parent") or info["resource"]
            key = (str(resource[0]), str(resource[1]), str(resource[2]))
            if info.get("action"):
                subs.setdefault(key, []).append(str(info["action"]))
                continue
            namespaced = any("Namespaced" in b for b in bases)
            verbs = sorted({_VERB_NAMES.get(v, v) for v in info.get("verbs", ())} - {""})
            out[key] = _Paths(str(info["plural"]), namespaced, tuple(verbs), ())
    return {
        k: _Paths(p.plural, p.namespaced, p.verbs, tuple(sorted(subs.get(k, ())))) for k, p in out.items()
    }


def _api_info(node: ast.ClassDef) -> dict[str, Any] | None:
    for stmt in node.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_api_info" for t in stmt.targets
        ):
            call = stmt.value
            if not isinstance(call, ast.Call):
                return None
            info: dict[str, Any] = {}
            for kw in call.keywords:
                value = kw.value
                if isinstance(value, ast.Call):  # res.ResourceDef('apps', 'v1', 'Deployment')
                    info[str(kw.arg)] = tuple(ast.literal_eval(a) for a in value.args)
                else:
                    info[str(kw.arg)] = ast.literal_eval(value)
            return info if "resource" in info else None
    return None


@cache
def _builtin() -> tuple[ResourceType, ...]:
    """The built-in kinds, from a per-user cache file when the packages they
    are read from have not changed since it was written (reading them costs
    some 30 ms per process: a 1.2 MB JSON document and 60 modules' syntax
    trees; the table is 90 lines)."""
    fingerprint = _fingerprint()
    cached = _read_cache(fingerprint)
    if cached is not None:
        return cached
    types = _read_builtin()
    _write_cache(fingerprint, types)
    return types


def _fingerprint() -> str:
    lightkube = importlib.util.find_spec("lightkube")
    parts = [KUBERNETES_VERSION]
    files = [Path(__file__), schema_dir() / "_definitions.json"]  # this module's tables, and the packages
    if lightkube is not None and lightkube.submodule_search_locations:
        files += sorted((Path(next(iter(lightkube.submodule_search_locations))) / "resources").glob("*.py"))
    for f in files:
        with contextlib.suppress(OSError):
            st = f.stat()
            parts.append(f"{f}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitops-agent" / "kinds.json"


def _read_cache(fingerprint: str) -> tuple[ResourceType, ...] | None:
    try:
        doc = json.loads(_cache_file().read_text())
        if doc.get("fingerprint") != fingerprint:
            return None
        return tuple(_resource_type(t) for t in doc["types"])
    except (OSError, ValueError, TypeError, KeyError, RuntimeError):
        return None


def _resource_type(data: dict[str, Any]) -> ResourceType:
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return ResourceType(**fields)


def _write_cache(fingerprint: str, types: tuple[ResourceType, ...]) -> None:
    path = _cache_file()
    with contextlib.suppress(OSError):  # a read-only home: the table is read each time
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"fingerprint": fingerprint, "types": [asdict(t) for t in types]}))
        os.replace(tmp, path)


def _read_builtin() -> tuple[ResourceType, ...]:
    paths = _api_paths()
    gvks = _definition_names()
    types: list[ResourceType] = []
    for group, kind in APPLICATION_KINDS:
        versions = sorted(
            (v for (g, v, k) in gvks if g == group and k == kind and (g, v, k) in paths), key=version_priority
        )
        if not versions:
            raise RuntimeError(
                f"{group}/{kind} is not in the Kubernetes {KUBERNETES_VERSION} API description"
            )
        p = paths[(group, versions[0], kind)]
        types.append(
            ResourceType(
                group,
                versions[0],
                kind,
                p.plural,
                p.namespaced,
                SHORT_NAMES.get(kind, ()),
                p.verbs,
                p.subresources,
                ("all",) if kind in _CATEGORY_ALL else (),
                tuple(versions),
            )
        )
    return tuple(types)


def __getattr__(name: str) -> Any:
    """``BUILTIN`` reads the API description on first use, not at import."""
    if name == "BUILTIN":
        return _builtin()
    raise AttributeError(name)


@cache
def _by_group_kind() -> dict[tuple[str, str], ResourceType]:
    return {(t.group, t.kind): t for t in _builtin()}


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


def is_namespaced(group: str, kind: str, extra: Iterable[ResourceType] = ()) -> bool:
    """Scope of a kind; kinds nobody declared are taken as namespaced, which
    is what almost every custom resource is."""
    for t in extra:
        if t.group == group and t.kind == kind:
            return t.namespaced
    known = builtin(group, kind)
    return True if known is None else known.namespaced
