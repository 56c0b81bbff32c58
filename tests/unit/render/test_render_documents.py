"""The quick construction of YAML documents gives what PyYAML's safe loader gives."""

from __future__ import annotations

import pytest
import yaml

from agent.errors import RenderFailed
from agent.render.documents import MAX_DEPTH, _Loader, load_documents, plain

CASES = [
    "a: b\nc: [1, 2.5, true, null, '3', ~, 0x1F, 1_000, .inf]\n",
    "spec:\n  ports:\n  - {port: 80, targetPort: http}\n  - port: 443\n",
    "date: 2024-01-01\nversion: 1.10\nyes: no\non: off\n",  # YAML 1.1 booleans, no timestamps
    "a: 1\na: 2\n",  # a duplicate key: the last one wins, as PyYAML does
    "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n",  # an anchor and a merge key
    "list: &l [1, 2]\nagain: *l\n",  # an alias: one shared list
    "1: one\ntrue: yes\nnull: nothing\n",  # keys that are not strings
    "bin: !!binary aGVsbG8=\nset: !!set {a, b}\nstr: !!str 123\n",
    "---\nfirst: 1\n---\n---\n- second\n",  # several documents, one empty
    "text: |\n  line one\n  line two\nfolded: >\n  a\n  b\n",
]


@pytest.mark.parametrize("text", CASES)
def test_same_data_as_the_safe_loader(text: str) -> None:
    class Plain(_Loader):  # type: ignore[misc,valid-type]
        construct_document = yaml.constructor.SafeConstructor.construct_document

    assert list(yaml.load_all(text, Loader=_Loader)) == list(yaml.load_all(text, Loader=Plain))


def test_an_alias_is_still_one_shared_object() -> None:
    doc = next(yaml.load_all("list: &l [1, 2]\nagain: *l\n", Loader=_Loader))
    assert doc["list"] is doc["again"]


def test_an_alias_bomb_is_still_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 8):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [{', '.join(['*' + chr(96 + i)] * 10)}]\n"
    with pytest.raises(RenderFailed, match="alias bomb"):
        load_documents(bomb, "bomb.yaml")


def test_unknown_tags_are_still_errors() -> None:
    with pytest.raises(RenderFailed, match="bad.yaml"):
        load_documents("key: !Ref other\n", "bad.yaml")


@pytest.mark.parametrize("text", [*CASES, "when: !!timestamp 2024-01-01\n", "n: .nan\n"])
def test_documents_equal_a_checked_copy_of_the_safe_loaders(text: str) -> None:
    """Documents the quick walk builds skip :func:`plain`'s copy: they must
    be what that copy makes, and fail where it fails, with its message."""

    class Plain(_Loader):  # type: ignore[misc,valid-type]
        construct_document = yaml.constructor.SafeConstructor.construct_document

    try:
        expected = [plain(d, f"f.yaml (document {i + 1})") for i, d in enumerate(yaml.load_all(text, Plain))]
    except RenderFailed as e:
        with pytest.raises(RenderFailed) as got:
            load_documents(text, "f.yaml")
        assert str(got.value) == str(e)
        return
    assert load_documents(text, "f.yaml") == expected


def test_the_quick_walk_keeps_the_node_and_depth_limits() -> None:
    deep = "a: " + "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2) + "\n"
    with pytest.raises(RenderFailed, match=f"nested more than {MAX_DEPTH} levels"):
        load_documents(deep, "deep.yaml")
    wide = "items: [" + ", ".join(str(i) for i in range(50)) + "]\n"
    with pytest.raises(RenderFailed, match="expands to more than 20 nodes"):
        load_documents(wide, "wide.yaml", max_nodes=20)
    assert load_documents(wide, "wide.yaml", max_nodes=100) == [{"items": list(range(50))}]


def test_documents_are_fresh_objects() -> None:
    first, second = load_documents("a: {b: [1]}\n---\na: {b: [1]}\n", "f.yaml")
    assert first == second
    assert first["a"] is not second["a"]
    first["a"]["b"].append(2)
    assert second == {"a": {"b": [1]}}
