"""Values layers, Helm's --set syntax, YAML safety and version constraints."""

from __future__ import annotations

import pytest

from agent.errors import RenderFailed
from agent.render.documents import load_documents, plain
from agent.render.semver import parse, satisfies
from agent.render.values import child_layers, coalesce, parse_set


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["a.b=1"], {"a": {"b": 1}}),
        (["a=1,b=two"], {"a": 1, "b": "two"}),
        (["flag=true", "off=false", "n=null"], {"flag": True, "off": False, "n": None}),
        (["f=1.5"], {"f": 1.5}),
        (["s="], {"s": ""}),
        (["list={a,b,3}"], {"list": ["a", "b", 3]}),
        (["servers[1].port=80"], {"servers": [None, {"port": 80}]}),
        (["name=a\\,b"], {"name": "a,b"}),
        (["annotations.example\\.com/x=y"], {"annotations": {"example.com/x": "y"}}),
        (["url=http://x:1/?a=b"], {"url": "http://x:1/?a=b"}),
        (["a.b=1", "a.c=2"], {"a": {"b": 1, "c": 2}}),
        (["obj={x: 1}"], {"obj": ["x: 1"]}),  # braces are a list, as in Helm
    ],
)
def test_set(items: list[str], expected: dict) -> None:  # type: ignore[type-arg]
    assert parse_set(items) == expected


def test_set_string_keeps_strings() -> None:
    assert parse_set(["port=80,on=true"], as_string=True) == {"port": "80", "on": "true"}


@pytest.mark.parametrize("item", ["novalue", "=x", "a[999999]=1"])
def test_set_errors(item: str) -> None:
    with pytest.raises(RenderFailed, match="--set"):
        parse_set([item])


def test_layers_in_order() -> None:
    defaults = {"a": 1, "m": {"x": 1, "y": 2}}
    assert coalesce(defaults, [{"a": 2}, {"m": {"y": None, "z": 3}}, {"a": 3}]) == {
        "a": 3,
        "m": {"x": 1, "z": 3},
    }


def test_child_layers_take_the_subchart_key_and_global() -> None:
    parent = [
        {"global": {"r": "eu"}, "db": {"size": 1}, "other": 1},
        {"db": {"size": 2, "global": {"own": True}}},
        {"unrelated": True},
    ]
    assert child_layers(parent, "db") == [
        {"size": 1, "global": {"r": "eu"}},
        {"size": 2, "global": {"own": True}},
    ]


def test_documents_are_copied_apart() -> None:
    (doc,) = load_documents("a: &x {k: 1}\nb: *x\n", "f.yaml")
    assert doc == {"a": {"k": 1}, "b": {"k": 1}}
    assert doc["a"] is not doc["b"]  # an alias is expanded, not shared


def test_yaml_keys_become_strings_like_kubernetes() -> None:
    (doc,) = load_documents("2: a\ntrue: b\n~: c\n", "f.yaml")
    assert doc == {"2": "a", "true": "b", "null": "c"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!binary aGk=\n", "a bytes value"),
        ("a: !!set {x}\n", "a set value"),
        ("a: .nan\n", "nan is not a valid number"),
        ("a: !!python/object:os.system {}\n", "could not determine a constructor"),
        ("[" * 200 + "]" * 200, "nested more than 100 levels"),
    ],
)
def test_yaml_that_is_not_plain_data(text: str, message: str) -> None:
    with pytest.raises(RenderFailed, match=message):
        load_documents(text, "f.yaml")


def test_plain_refuses_cycles_in_python_data() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(RenderFailed, match="refers to itself"):
        plain(loop, "x")


@pytest.mark.parametrize(
    ("version", "constraint", "ok"),
    [
        ("1.2.3", "~1.2", True),
        ("1.3.0", "~1.2", False),
        ("1.9.0", "^1.2.3", True),
        ("2.0.0", "^1.2.3", False),
        ("0.2.9", "^0.2.3", True),
        ("0.3.0", "^0.2.3", False),
        ("0.0.4", "^0.0.3", False),
        ("1.2.5", "1.2.x", True),
        ("1.3.0", "1.2.x", False),
        ("1.4.9", "1.2 - 1.4", True),
        ("1.5.0", "1.2 - 1.4", False),
        ("2.1.0", "<1.0.0 || >=2.0.0", True),
        ("1.0.0", "<1.0.0 || >=2.0.0", False),
        ("1.2.3", ">= 1.0, < 2.0", True),
        ("1.2.3", "!=1.2", False),
        ("1.3.0", "!=1.2", True),
        ("1.2.3", "*", True),
        ("v1.33.0", ">=1.25.0", True),
        ("1.28.0-rc.1", ">=1.28-0", True),
        ("1.28.0-rc.1", ">=1.27", False),  # pre-releases only when the constraint names one
        ("1.0.0", "=1.0.0", True),
        ("1.0.1", "<=1.0", True),
        ("1.1.0", ">1.0", True),
        ("1.0.5", ">1.0", False),
    ],
)
def test_constraints(version: str, constraint: str, ok: bool) -> None:
    assert satisfies(version, constraint) is ok


def test_version_order() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ]
    assert sorted(ordered, key=parse) == ordered
    with pytest.raises(RenderFailed, match="not a semantic version"):
        parse("one")
