from __future__ import annotations

import pytest

from agent.diff.paths import (
    ANY,
    Index,
    Key,
    Match,
    PathError,
    Value,
    covers,
    fields_v1_paths,
    format_path,
    parse_dotted,
    parse_pointer,
    remove,
)


def test_parse_pointer() -> None:
    assert parse_pointer("/spec/template/spec/containers/0/image") == (
        Key("spec"),
        Key("template"),
        Key("spec"),
        Key("containers"),
        Index(0),
        Key("image"),
    )
    assert parse_pointer("/metadata/annotations/example.com~1note") == (
        Key("metadata"),
        Key("annotations"),
        Key("example.com/note"),
    )
    with pytest.raises(PathError, match="starts with '/'"):
        parse_pointer("spec/replicas")


def test_parse_dotted() -> None:
    assert parse_dotted("spec.template.spec.containers[name=web].env[name=DEBUG].value") == (
        Key("spec"),
        Key("template"),
        Key("spec"),
        Key("containers"),
        Match((("name", "web"),)),
        Key("env"),
        Match((("name", "DEBUG"),)),
        Key("value"),
    )
    assert parse_dotted('metadata.annotations["example.com/note"]') == (
        Key("metadata"),
        Key("annotations"),
        Key("example.com/note"),
    )
    assert parse_dotted("spec.*.replicas") == (Key("spec"), ANY, Key("replicas"))
    assert parse_dotted("spec.containers[*].image") == (Key("spec"), Key("containers"), ANY, Key("image"))
    assert parse_dotted("spec.ports[0]") == (Key("spec"), Key("ports"), Index(0))
    with pytest.raises(PathError, match="cannot parse"):
        parse_dotted('spec["unclosed')


def test_fields_v1_paths() -> None:
    tree = {
        "f:spec": {
            "f:replicas": {},
            "f:template": {
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"web"}': {
                            ".": {},
                            "f:image": {},
                            "f:ports": {
                                'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}
                            },
                        }
                    }
                }
            },
        },
        "f:metadata": {"f:finalizers": {'v:"x"': {}}},
    }
    paths = set(fields_v1_paths(tree))
    web = (Key("spec"), Key("template"), Key("spec"), Key("containers"), Match((("name", "web"),)))
    assert (Key("spec"), Key("replicas")) in paths
    assert web in paths and (*web, Key("image")) in paths
    assert (Key("metadata"), Key("finalizers"), Value("x")) in paths


def test_format_and_covers() -> None:
    path = parse_dotted("spec.containers[name=web].env[name=A].value")
    assert format_path(path) == "spec.containers[name=web].env[name=A].value"
    assert (
        format_path(parse_dotted('metadata.labels["app.kubernetes.io/name"]'))
        == 'metadata.labels["app.kubernetes.io/name"]'
    )
    owner = (Key("spec"), Key("ports"), Match((("port", "80"), ("protocol", "TCP"))))
    assert covers(owner, (Key("spec"), Key("ports"), Match((("port", "80"),)), Key("targetPort")))
    assert not covers(owner, (Key("spec"), Key("ports"), Match((("port", "81"),))))
    assert covers((Key("spec"),), (Key("spec"), Key("replicas")))
    assert not covers((Key("spec"), Key("replicas")), (Key("spec"),))


def test_remove() -> None:
    obj = {
        "spec": {
            "replicas": 3,
            "containers": [
                {
                    "name": "web",
                    "image": "a",
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                },
                {"name": "side", "image": "b"},
            ],
        }
    }
    remove(obj, parse_dotted("spec.containers[name=web].env[name=A]"))
    remove(obj, parse_dotted("spec.containers[*].image"))
    remove(obj, parse_pointer("/spec/replicas"))
    remove(obj, parse_dotted("spec.nothing.here"))
    assert obj == {
        "spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "2"}]}, {"name": "side"}]}
    }
