"""AppSet generators over real folders, the matrix, and template errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.config import AppSet, ClusterConfig
from agent.errors import ConfigError
from agent.fleet.documents import DeclaredAppSet
from agent.fleet.generators import Generating, GeneratorFailed, generate, matches

TEMPLATE = {
    "metadata": {"name": "{{ path.basename }}"},
    "spec": {"path": "{{ path.path }}", "namespace": "x"},
}


def app_set(generators: list[dict[str, Any]], template: dict[str, Any] | None = None) -> DeclaredAppSet:
    found = AppSet.model_validate(
        {"name": "set", "spec": {"generators": generators, "template": template or TEMPLATE}}
    )
    return DeclaredAppSet(found, "appSets[0] (set)", repo="mono", revision="main")


def gen(
    declared: DeclaredAppSet, root: Path | None = None, clusters: list[ClusterConfig] | None = None
) -> Generating:
    def checkout(repo: str, revision: str) -> Path:
        assert (repo, revision) == ("mono", "main")
        if root is None:
            raise GeneratorFailed("mono: repository not found")
        return root

    return Generating(checkout, clusters or [], declared)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel in ("apps/web/a.yaml", "apps/db/a.yaml", "apps/db/extra/b.yaml", "apps/old/a.yaml", "lib/x.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden/a.yaml").write_text("{}\n")
    return tmp_path


def test_globs() -> None:
    assert matches("apps/web", ["apps/*"]) and not matches("apps/web/x", ["apps/*"])
    assert matches("apps/web/x", ["apps/**"]) and matches("apps", ["**"])
    assert matches("a/b/c/d", ["a/**/d"]) and matches("a/d", ["a/**/d"])
    assert not matches("apps/old", ["apps/*"], exclude=["apps/old"])


def test_git_directories_with_excludes(tree: Path) -> None:
    declared = app_set([{"gitDirectories": {"directories": ["apps/*"], "exclude": ["apps/old"]}}])
    apps = generate(gen(declared, tree))
    assert [(a.name, a.path, a.repo, a.revision) for a in apps] == [
        ("db", "apps/db", "mono", "main"),
        ("web", "apps/web", "mono", "main"),
    ]
    deep = generate(gen(app_set([{"gitDirectories": {"directories": ["apps/**"]}}]), tree))
    assert "extra" in [a.name for a in deep]


def test_git_files_give_their_keys_and_their_folder(tree: Path) -> None:
    (tree / "apps/web/config.json").write_text(json.dumps({"team": "shop", "ns": "web-ns"}))
    (tree / "apps/db/config.json").write_text(json.dumps({"team": "data", "ns": "db-ns"}))
    template = {
        "metadata": {"name": "{{ path.basename }}", "labels": {"team": "{{ team }}"}},
        "spec": {"path": "{{ path.path }}", "namespace": "{{ ns }}"},
    }
    apps = generate(gen(app_set([{"gitFiles": {"files": ["apps/*/config.json"]}}], template), tree))
    assert [(a.name, a.namespace, a.labels) for a in apps] == [
        ("db", "db-ns", {"team": "data"}),
        ("web", "web-ns", {"team": "shop"}),
    ]
    (tree / "apps/web/config.json").write_text("[1, 2]")
    with pytest.raises(
        GeneratorFailed, match="apps/web/config.json: a gitFiles generator's file holds a mapping"
    ):
        generate(gen(app_set([{"gitFiles": {"files": ["apps/*/config.json"]}}], template), tree))


def test_clusters_by_labels_and_the_matrix() -> None:
    clusters = [
        ClusterConfig(name="default", labels={"env": "dev"}),
        ClusterConfig(name="staging", labels={"env": "staging", "region": "eu"}),
        ClusterConfig(name="prod", labels={"env": "prod", "region": "eu"}),
    ]
    template = {
        "metadata": {"name": "{{ app }}-{{ cluster.name }}", "labels": {"env": "{{ cluster.labels.env }}"}},
        "spec": {
            "path": "apps/{{ app }}",
            "destination": {"cluster": "{{ cluster.name }}", "namespace": "{{ app }}"},
        },
    }
    matrix = {
        "matrix": {
            "generators": [
                {"list": {"elements": [{"app": "web"}, {"app": "db"}]}},
                {"clusters": {"selector": {"region": "eu"}}},
            ]
        }
    }
    apps = generate(gen(app_set([matrix], template), None, clusters))
    assert [(a.name, a.cluster, a.namespace, a.labels["env"]) for a in apps] == [
        ("web-staging", "staging", "web", "staging"),
        ("web-prod", "prod", "web", "prod"),
        ("db-staging", "staging", "db", "staging"),
        ("db-prod", "prod", "db", "prod"),
    ]


def test_a_template_error_names_the_appset_the_element_and_the_field(tree: Path) -> None:
    template = {"metadata": {"name": "{{ path.basename }}"}, "spec": {"path": "{{ path.nope }}"}}
    with pytest.raises(ConfigError) as e:
        generate(gen(app_set([{"gitDirectories": {"directories": ["apps/*"]}}], template), tree))
    assert str(e.value).startswith("appSets[0] (set): element 0 (path apps/db): template spec.path: ")
    assert "nope" in str(e.value)
    syntax = {"metadata": {"name": "{{ path.basename"}, "spec": {}}
    with pytest.raises(ConfigError, match=r"element 0 \(path apps/db\): template metadata\.name: line 1"):
        generate(gen(app_set([{"gitDirectories": {"directories": ["apps/*"]}}], syntax), tree))
    invalid = {"metadata": {"name": "{{ path.basename | upper }}"}, "spec": {}}
    with pytest.raises(
        ConfigError, match=r"element 0 \(path apps/db\): app DB: metadata\.name: 'DB' is not a valid"
    ):
        generate(gen(app_set([{"gitDirectories": {"directories": ["apps/*"]}}], invalid), tree))


def test_the_sandbox_holds_in_templates() -> None:
    template = {"metadata": {"name": "{{ ''.__class__.__mro__ }}"}, "spec": {"repo": "r"}}
    with pytest.raises(ConfigError, match=r"element 0: template metadata\.name"):
        generate(gen(app_set([{"list": {"elements": [{}]}}], template)))


def test_two_elements_making_one_name_are_refused() -> None:
    template = {"metadata": {"name": "same"}, "spec": {"repo": "r"}}
    with pytest.raises(
        ConfigError, match=r"generator 0 element 1 and generator 0 element 0 both make app 'same'"
    ):
        generate(gen(app_set([{"list": {"elements": [{}, {}]}}], template)))


def test_a_missing_repository_fails_the_generator() -> None:
    with pytest.raises(GeneratorFailed, match="repository not found"):
        generate(gen(app_set([{"gitDirectories": {"directories": ["apps/*"]}}])))
