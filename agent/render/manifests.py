"""From YAML text to checked :class:`Manifest` objects.

Each document of a stream becomes one manifest that remembers its file and
document index, for error messages and reports.  Empty documents are
skipped, ``kind: List`` is unfolded, and a document that is not a
Kubernetes object (no ``apiVersion``, ``kind`` or ``metadata.name``) is an
error.  A hook (``argocd.argoproj.io/hook``, ``gitops-agent.io/hook`` or
``helm.sh/hook`` annotation) may carry ``metadata.generateName`` instead of
a name: the API server names each run, as Argo CD documents for hooks
(argo-cd#1639); any other object needs a name, since it could not be
found again to be diffed, updated or pruned (``kubectl apply`` and Argo CD
refuse generateName outside hooks too).

:func:`finalize` then gives namespaced objects without a namespace
the app's one (scope from :mod:`agent.kube.kinds` and the CRDs of the same
render), drops the namespace of cluster-scoped ones, and refuses two
objects with the same group, kind, namespace and name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from agent.errors import RenderFailed
from agent.kube.kinds import ResourceType, crd_resource_types, scope_of
from agent.models import Manifest, ObjectKey, split_api_version
from agent.render.documents import dump_yaml_stream, load_documents

CHART_CRD_ANNOTATION = "gitops-agent.io/chart-crd"
PRUNE_ANNOTATION = "gitops-agent.io/prune"  # as agent.sync.ownership reads it
HOOK_ANNOTATIONS = ("gitops-agent.io/hook", "argocd.argoproj.io/hook", "helm.sh/hook")  # as agent.sync.waves


def parse_manifests(text: str, source: str, rendered: bool = False) -> list[Manifest]:
    """Split a multi-document YAML stream; skip empty documents; unfold
    ``kind: List``; reject documents that are not Kubernetes objects."""
    out: list[Manifest] = []
    for index, doc in enumerate(load_documents(text, source, rendered=rendered)):
        if doc is None:
            continue
        items = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
        if not isinstance(items, list):
            raise RenderFailed(f"{source} (document {index + 1}): List has no items list")
        for item in items:
            out.append(_check(item, source, index))
    return out


def _check(doc: Any, source: str, index: int) -> Manifest:
    where = f"{source} (document {index + 1})"
    if not isinstance(doc, dict):
        raise RenderFailed(f"{where}: expected a Kubernetes object (a mapping), got {type(doc).__name__}")
    for field in ("apiVersion", "kind"):
        if not isinstance(doc.get(field), str) or not doc.get(field):
            raise RenderFailed(f"{where}: missing {field}")
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        raise RenderFailed(f"{where}: {doc['kind']} has no metadata.name")
    if not isinstance(meta.get("name"), str) or not meta.get("name"):
        _check_generated(doc, meta, where)
    namespace = meta.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        name = meta.get("name") or meta.get("generateName")
        raise RenderFailed(f"{where}: {doc['kind']} {name}: metadata.namespace must be a string")
    return Manifest(doc, source, index)


def _check_generated(doc: dict[str, Any], meta: dict[str, Any], where: str) -> None:
    """An object without a name: allowed for a hook with generateName only."""
    generate = meta.get("generateName")
    if not isinstance(generate, str) or not generate or meta.get("name"):
        raise RenderFailed(f"{where}: {doc['kind']} has no metadata.name")
    notes = meta.get("annotations")
    if not isinstance(notes, dict) or not any(notes.get(a) for a in HOOK_ANNOTATIONS):
        raise RenderFailed(
            f"{where}: {doc['kind']} with generateName {generate!r} has no metadata.name; only hooks "
            f"(annotated {' or '.join(HOOK_ANNOTATIONS)}) may be named by the server"
        )


def mark_chart_crds(manifests: Sequence[Manifest], chart: str) -> list[Manifest]:
    """CRDs of a chart's ``crds/`` folder: only CustomResourceDefinitions,
    marked for the planner (applied first) and, as Helm does, never pruned:
    deleting a CRD deletes every object of its kind in the cluster."""
    for m in manifests:
        if m.obj["kind"] != "CustomResourceDefinition" or not m.api_version.startswith(
            "apiextensions.k8s.io/"
        ):
            raise RenderFailed(
                f"{m.source} (document {m.index + 1}): crds/ holds CustomResourceDefinitions only, "
                f"found {m.obj['kind']}; move it to templates/"
            )
        annotations = m.obj["metadata"].get("annotations")
        if annotations is not None and not isinstance(annotations, dict):
            raise RenderFailed(f"{m.source} (document {m.index + 1}): metadata.annotations must be a mapping")
        m.obj["metadata"]["annotations"] = {
            **(annotations or {}),
            CHART_CRD_ANNOTATION: chart,
            PRUNE_ANNOTATION: "disabled",
        }
    return list(manifests)


def finalize(
    manifests: Sequence[Manifest],
    namespace: str,
    extra_types: Iterable[ResourceType] = (),
    ask: Callable[[str, str], bool | None] | None = None,
) -> list[Manifest]:
    """Give namespaced objects without a namespace the app's namespace,
    drop it from cluster-scoped ones, and reject duplicates.  The scope of a
    kind neither built in nor declared by a CRD of the render comes from
    ``ask`` (the cluster's discovery: ``ask(apiVersion, kind)``, None when
    it does not know); unknown to all, a kind is taken as namespaced."""
    types = list(extra_types)
    for m in manifests:
        if m.obj.get("kind") == "CustomResourceDefinition":
            types.extend(crd_resource_types(m.obj))
    seen: dict[ObjectKey, Manifest] = {}
    out: list[Manifest] = []
    for given in manifests:
        group, _ = split_api_version(given.api_version)
        meta = given.obj["metadata"]
        scope = scope_of(group, given.obj["kind"], types)
        if scope is None and ask is not None:
            scope = ask(given.api_version, given.obj["kind"])
        if scope is None or scope:
            if not meta.get("namespace"):
                # right after the name, where people write it
                named = {k: meta[k] for k in ("name", "generateName") if k in meta}
                rest = {k: v for k, v in meta.items() if k not in ("name", "generateName", "namespace")}
                meta = given.obj["metadata"] = {**named, "namespace": namespace, **rest}
        else:
            meta.pop("namespace", None)
        m = Manifest(given.obj, given.source, given.index)  # a new one: its key as finalized
        key = m.key
        if key in seen:
            first = seen[key]
            raise RenderFailed(
                f"{m.source} (document {m.index + 1}): {key} is defined twice "
                f"(also in {first.source} (document {first.index + 1}))"
            )
        seen[key] = m
        out.append(m)
    return out


def to_yaml_stream(manifests: Sequence[Manifest]) -> str:
    """The manifests as ``helm template`` prints them: ``---``, a
    ``# Source:`` comment, the object."""
    return dump_yaml_stream([m.obj for m in manifests], [f"Source: {m.source}" for m in manifests])
