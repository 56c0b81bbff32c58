"""Application and AppSet documents read as app definitions, and their errors."""

from __future__ import annotations

from typing import Any

import pytest

from agent.config import Application
from agent.errors import ConfigError
from agent.fleet.documents import FLEET_API_VERSION, read_definitions
from agent.models import Manifest
from agent.sync.render import definitions_of, is_definition

PARENT = Application(name="root", repo="https://git.example.invalid/mono.git", revision="main")


def doc(kind: str, name: Any, spec: Any, **meta: Any) -> Manifest:
    obj = {"apiVersion": FLEET_API_VERSION, "kind": kind, "metadata": {"name": name, **meta}, "spec": spec}
    return Manifest(obj, "apps/root/apps.yaml", 1)


def test_an_application_document_defaults_repo_and_revision_to_the_parents() -> None:
    m = doc(
        "Application", "web", {"path": "apps/web", "destination": {"namespace": "web"}}, labels={"team": "a"}
    )
    found = read_definitions([m], PARENT)
    (web,) = found.apps
    assert (web.name, web.repo, web.revision, web.path) == ("web", PARENT.repo, "main", "apps/web")
    assert web.namespace == "web" and web.labels == {"team": "a"}


def test_an_application_document_may_name_its_own_repository() -> None:
    m = doc("Application", "db", {"repo": "https://other.invalid/db.git", "revision": "v1"})
    (db,) = read_definitions([m], PARENT).apps
    assert (db.repo, db.revision) == ("https://other.invalid/db.git", "v1")


def test_other_documents_are_not_definitions() -> None:
    cm = Manifest({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, "a.yaml", 0)
    other = Manifest(
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "x"}}, "a", 0
    )
    assert not is_definition(cm.obj) and not is_definition(other.obj)
    assert read_definitions([cm, other], PARENT).apps == ()


def test_errors_name_the_document_and_each_field() -> None:
    m = doc("Application", "Web", {"path": "/etc", "bogus": 1})
    with pytest.raises(ConfigError) as e:
        read_definitions([m], PARENT)
    message = str(e.value)
    assert message.startswith("apps/root/apps.yaml (document 2): Application Web: ")
    assert "metadata.name: 'Web' is not a valid name" in message
    assert "spec.path: '/etc' must be a path inside the repository" in message
    assert "spec.bogus: unknown field" in message


def test_name_and_labels_belong_in_metadata() -> None:
    with pytest.raises(ConfigError, match=r"spec\.name: unknown field \(the app's name is metadata\.name\)"):
        read_definitions([doc("Application", "web", {"name": "web"})], PARENT)
    with pytest.raises(ConfigError, match=r"metadata\.name: required field is missing"):
        read_definitions([doc("Application", "", {})], PARENT)
    with pytest.raises(ConfigError, match=r"Application web: spec: must be a mapping"):
        read_definitions([doc("Application", "web", ["x"])], PARENT)


def test_an_appset_document_reads_its_generators_and_names_bad_fields() -> None:
    spec = {
        "generators": [{"gitDirectories": {"directories": ["apps/*"]}}],
        "template": {"metadata": {"name": "{{ path.basename }}"}, "spec": {"path": "{{ path.path }}"}},
    }
    (declared,) = read_definitions([doc("AppSet", "apps", spec)], PARENT).app_sets
    assert declared.app_set.name == "apps" and declared.repo == PARENT.repo and declared.revision == "main"
    bad = {**spec, "generators": [{"gitDirectories": {"directories": []}}]}
    with pytest.raises(ConfigError, match=r"AppSet apps: spec\.generators\[0\]\.gitDirectories\.directories"):
        read_definitions([doc("AppSet", "apps", bad)], PARENT)


def test_a_render_made_elsewhere_declares_nothing() -> None:
    from agent.render import RenderResult

    assert definitions_of(RenderResult((), chart=False)) == ()
