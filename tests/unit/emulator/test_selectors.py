"""Label and field selectors, in the API server's query syntax."""

from __future__ import annotations

import pytest

from agent.emulator.storage.selectors import field_matcher, label_matcher
from agent.kube.errors import BadRequest


def obj(name: str, namespace: str = "app", **labels: str) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels}}


def test_label_selector_syntax() -> None:
    web, db, bare = obj("web", tier="front", env="prod"), obj("db", tier="back"), obj("bare")
    cases = {
        "tier=front": [web],
        "tier==front": [web],
        "tier!=front": [db, bare],
        "tier in (front,back)": [web, db],
        "tier notin (front)": [db, bare],
        "env": [web],
        "!env": [db, bare],
        "tier=front,env=prod": [web],
    }
    for selector, wanted in cases.items():
        matches = label_matcher(selector)
        assert matches is not None
        assert [o for o in (web, db, bare) if matches(o)] == wanted, selector


def test_a_mapping_selects_by_equality_and_empty_selects_everything() -> None:
    matches = label_matcher({"tier": "back"})
    assert matches is not None and matches(obj("db", tier="back")) and not matches(obj("web", tier="front"))
    assert label_matcher("") is None and label_matcher(None) is None


def test_field_selector_by_name_and_namespace() -> None:
    matches = field_matcher("metadata.name=web,metadata.namespace!=other", "ConfigMap")
    assert matches is not None
    assert matches(obj("web")) and not matches(obj("db")) and not matches(obj("web", namespace="other"))


@pytest.mark.parametrize("selector", ["tier in (a", "a=b=c", "=x", "tier notin"])
def test_a_bad_label_selector_is_a_bad_request(selector: str) -> None:
    with pytest.raises(BadRequest):
        label_matcher(selector)


def test_an_unknown_field_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="spec.nodeName"):
        field_matcher("spec.nodeName=x", "ConfigMap")
