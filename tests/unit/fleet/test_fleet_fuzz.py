"""Property tests over the fleet's parsers: a label selector, Application
and AppSet documents, and AppSet templates answer a value or their own
clean error, never another exception.  ``FUZZ_EXAMPLES`` runs them longer,
as tests/unit/test_fuzz.py's."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.config import Application, AppSet
from agent.errors import ConfigError
from agent.fleet.documents import FLEET_API_VERSION, DeclaredAppSet, read_definitions
from agent.fleet.generators import Generating, GeneratorFailed, generate
from agent.fleet.select import parse_selector
from agent.models import Manifest

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PARENT = Application(name="root", repo="https://git.example.invalid/r.git")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
spec_keys = st.sampled_from(
    ["path", "repo", "name", "labels", "destination", "syncPolicy", "values", "generators", "template", "x"]
)
selector_bits = st.sampled_from(["a", "b/c", "=", "==", "!=", "!", ",", " ", "-", ".", "1", "é", ""])
template_bits = st.sampled_from(
    ["{{", "}}", "{%", "%}", " ", "x", "path", ".", "basename", "|", "upper", "(", ")", "'", "for", "if", "n"]
)


@FUZZ
@given(st.one_of(st.text(max_size=30), st.lists(selector_bits, max_size=12).map("".join)))
def test_a_selector_is_terms_or_a_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_selector(text)


@FUZZ
@given(
    st.sampled_from(["Application", "AppSet"]),
    json_values,
    st.one_of(json_values, st.dictionaries(spec_keys, json_values, max_size=4)),
)
def test_a_document_is_a_definition_or_a_config_error(kind: str, name: Any, spec: Any) -> None:
    obj = {"apiVersion": FLEET_API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}
    with contextlib.suppress(ConfigError):
        read_definitions([Manifest(obj, "apps.yaml", 0)], PARENT)


@FUZZ
@given(st.lists(template_bits, max_size=16).map("".join), st.lists(json_values, max_size=3))
def test_a_template_makes_apps_or_a_config_error(text: str, elements: list[Any]) -> None:
    found = AppSet.model_validate(
        {
            "name": "s",
            "spec": {
                "generators": [
                    {"list": {"elements": [{"n": e, "path": {"basename": "b"}} for e in elements]}}
                ],
                "template": {"metadata": {"name": text}, "spec": {"repo": "r", "path": text}},
            },
        }
    )

    def checkout(repo: str, revision: str) -> Any:
        raise GeneratorFailed("no repository")

    with contextlib.suppress(ConfigError):
        generate(Generating(checkout, [], DeclaredAppSet(found, "appSets[0] (s)")))
