"""From YAML text to validated :class:`Manifest` objects."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from agent.errors import RenderError
from agent.kinds import ResourceType, crd_resource_types, is_namespaced
from agent.models import Manifest, ObjectKey, split_api_version

# The C loader is ~10x faster; fall back where PyYAML was built without libyaml.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_documents(text: str, source: str) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise RenderError(f"{source}{where}: invalid YAML: {problem}") from None


def parse_manifests(text: str, source: str) -> list[Manifest]:
    """Split a multi-document YAML stream; skip empty documents; unfold
    ``kind: List``; reject documents that are not Kubernetes objects."""
    out: list[Manifest] = []
    for index, doc in enumerate(load_yaml_documents(text, source)):
        if doc is None:
            continue
        items = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
        for item in items or ():
            out.append(_check(item, source, index))
    return out


def _check(doc: Any, source: str, index: int) -> Manifest:
    where = f"{source} (document {index + 1})"
    if not isinstance(doc, dict):
        raise RenderError(f"{where}: expected a Kubernetes object (a mapping), got {type(doc).__name__}")
    for field in ("apiVersion", "kind"):
        if not isinstance(doc.get(field), str) or not doc.get(field):
            raise RenderError(f"{where}: missing {field}")
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta.get("name"):
        raise RenderError(f"{where}: {doc['kind']} has no metadata.name")
    return Manifest(doc, source, index)


def finalize(
    manifests: Sequence[Manifest], namespace: str, extra_types: Iterable[ResourceType] = ()
) -> list[Manifest]:
    """Give namespaced objects without a namespace the app's namespace,
    drop it from cluster-scoped ones, and reject duplicates."""
    types = list(extra_types)
    for m in manifests:
        if m.obj.get("kind") == "CustomResourceDefinition":
            types.extend(crd_resource_types(m.obj))
    seen: dict[ObjectKey, Manifest] = {}
    out: list[Manifest] = []
    for m in manifests:
        group, _ = split_api_version(m.api_version)
        meta = m.obj["metadata"]
        if is_namespaced(group, m.obj["kind"], types):
            if not meta.get("namespace"):
                meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        key = m.key
        if key in seen:
            raise RenderError(f"{m.source}: {key} is defined twice (also in {seen[key].source})")
        seen[key] = m
        out.append(m)
    return out
