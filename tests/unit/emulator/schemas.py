"""A small hand-written schema for the emulator's pure parts: a Widget whose spec has
a list-map of ports keyed by (port, protocol), a list-map of containers keyed by name,
a set of tags, an atomic list of args and a free map of labels."""

from __future__ import annotations

from agent.kube.nodes import Node

_PORT = {
    "type": "object",
    "properties": {"port": {"type": "integer"}, "protocol": {"type": "string"}, "name": {"type": "string"}},
}
_CONTAINER = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "image": {"type": "string"}, "args": {"type": "array"}},
}
WIDGET = Node(
    {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "spec": {
                "type": "object",
                "properties": {
                    "replicas": {"type": "integer"},
                    "ports": {
                        "type": "array",
                        "items": _PORT,
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["port", "protocol"],
                        "x-kubernetes-patch-strategy": "merge",
                        "x-kubernetes-patch-merge-key": "port",
                    },
                    "containers": {
                        "type": "array",
                        "items": _CONTAINER,
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["name"],
                        "x-kubernetes-patch-strategy": "merge",
                        "x-kubernetes-patch-merge-key": "name",
                    },
                    "tags": {
                        "type": "array",
                        "items": {"type": "string"},
                        "x-kubernetes-list-type": "set",
                        "x-kubernetes-patch-strategy": "merge",
                    },
                    "args": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    }
)


def widget(**spec: object) -> dict[str, object]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": dict(spec)}
