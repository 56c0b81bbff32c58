"""YAML for the render stage: the one safe loader (:mod:`agent.kube.documents`,
re-exported here), a values file's or ``Chart.yaml``'s single mapping, and
YAML written the way people write it.
"""

from __future__ import annotations

from typing import Any

import yaml

from agent.errors import RenderFailed
from agent.kube.documents import MAX_DEPTH, MAX_NODES, _Loader, load_documents, plain, type_name

__all__ = ["MAX_DEPTH", "MAX_NODES", "_Loader", "load_documents", "plain", "type_name"]


def load_mapping(text: str, source: str, what: str) -> dict[str, Any]:
    """The single mapping a values file or Chart.yaml holds ({} when empty)."""
    docs = [d for d in load_documents(text, source) if d is not None]
    if not docs:
        return {}
    if len(docs) > 1:
        raise RenderFailed(f"{source}: {what} must be one YAML document, found {len(docs)}")
    if not isinstance(docs[0], dict):
        raise RenderFailed(f"{source}: {what} must be a mapping, got {type_name(docs[0])}")
    return docs[0]


class _Dumper(yaml.SafeDumper):
    """Block style, and multi-line strings as ``|`` literals, the way
    people write them (and as ``helm template`` prints them)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(value: Any, sort_keys: bool = False) -> str:
    """YAML text for ``value``; deterministic for the same input."""
    return yaml.dump(
        value,
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=sort_keys,
        allow_unicode=True,
        width=1 << 16,
    )


def dump_yaml_stream(docs: list[Any], comments: list[str] | None = None) -> str:
    """Several documents, each after ``---`` and an optional ``# comment`` line."""
    out: list[str] = []
    for i, doc in enumerate(docs):
        out.append("---\n")
        if comments and comments[i]:
            out.append(f"# {comments[i]}\n")
        out.append(dump_yaml(doc))
    return "".join(out)
