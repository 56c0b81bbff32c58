"""Hostile and broken charts: each gets one clear RenderFailed, and a sync of
it writes nothing to the cluster."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.config import parse_config
from agent.emulator import EmulatedCluster
from agent.errors import RenderFailed
from agent.render import Limits
from agent.results import Stage
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from tests.support.render import run, write
from tests.support.repos import GitRepo

CHART = "apiVersion: v2\nname: evil\nversion: 1.0.0\n"
DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      contianers: [{name: web, image: nginx}]
"""
BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{n}: &{n} [{', '.join(['*' + p] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi", strict=True)),
    ]
)


@dataclass(frozen=True)
class Link:
    target: str


@dataclass(frozen=True)
class Case:
    files: dict[str, str | Link]
    message: str
    app: dict[str, Any] | None = None


def cm_template(body: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata:\n  v: {body}\n"


CASES: dict[str, Case] = {
    "undefined value": Case(
        {"templates/cm.yaml": cm_template("{{ values.db.host }}")},
        r"evil/templates/cm\.yaml:5: 'dict object' has no attribute 'db'",
    ),
    "required with a message": Case(
        {
            "templates/cm.yaml": cm_template(
                '{{ values.password | required("set password in the app values") }}'
            )
        },
        r"evil/templates/cm\.yaml:5: set password in the app values",
    ),
    "include outside the chart": Case(
        {"templates/cm.yaml": '{% include "../../outside.txt" %}\n'},
        r"evil/templates/cm\.yaml:1: template not found: "
        r"no template of that name in the chart \(outside the chart; refused\)",
    ),
    "symlinked template leaving the chart": Case(
        {"templates/cm.yaml": Link("../../outside.txt")},
        r"evil/templates/cm\.yaml: symlink points outside the chart; refused",
    ),
    "symlinked partial leaving the chart": Case(
        {"templates/_x.j2": Link("../../outside.txt"), "templates/cm.yaml": '{% include "_x.j2" %}\n'},
        r"evil/templates/_x\.j2: symlink points outside the chart; refused",
    ),
    "values file name leaving the repository": Case(
        {"templates/cm.yaml": cm_template("a")},
        r"evil: values file '\.\./\.\./\.\./\.\./etc/passwd' leaves the repository; refused",
        {"valuesFiles": ["../../../../etc/passwd"]},
    ),
    "symlinked values file leaving the repository": Case(
        {"templates/cm.yaml": cm_template("a"), "prod.yaml": Link("../../../outside.txt")},
        r"evil: values file 'prod\.yaml' leaves the repository; refused",
        {"valuesFiles": ["prod.yaml"]},
    ),
    "string repetition": Case(
        {"templates/cm.yaml": cm_template('{{ "x" * 10**9 }}')},
        r"evil/templates/cm\.yaml:5: the \* operator would make a value of 1,000,000,000 characters",
    ),
    "huge exponent": Case(
        {"templates/cm.yaml": cm_template("{{ 9 ** 999999 }}")},
        r"evil/templates/cm\.yaml:5: 9 \*\* 999999 would be a number of about",
    ),
    "recursive macro": Case(
        {
            "templates/cm.yaml": "{% macro loop(n) %}{{ loop(n + 1) }}{% endmacro %}\n"
            + cm_template("{{ loop(1) }}")
        },
        r"evil/templates/cm\.yaml:1: template recursion too deep: more than 100 nested calls \(at loop\)",
    ),
    "recursive include": Case(
        {"templates/cm.yaml": '{% include "cm.yaml" %}\n'},
        r"evil/templates/cm\.yaml: template recursion too deep",
    ),
    "YAML alias bomb in values": Case(
        {"values.yaml": BOMB, "templates/cm.yaml": cm_template("a")},
        r"evil/values\.yaml \(document 1\): "
        r"expands to more than 1,000,000 nodes \(a YAML alias bomb\?\); refused",
    ),
    "YAML alias bomb in a template's output": Case(
        {"templates/cm.yaml": "{% raw %}" + BOMB + "{% endraw %}\n"},
        r"evil/templates/cm\.yaml \(document 1\): expands to more than 1,000,000 nodes",
    ),
    "recursive YAML alias": Case(
        {"values.yaml": "a: &a [*a]\n", "templates/cm.yaml": cm_template("a")},
        r"evil/values\.yaml \(document 1\): a YAML alias refers to itself",
    ),
    "document without kind": Case(
        {"templates/cm.yaml": "apiVersion: v1\nmetadata: {name: x}\n"},
        r"evil/templates/cm\.yaml \(document 1\): missing kind",
    ),
    "two objects with the same name": Case(
        {"templates/a.yaml": cm_template("a"), "templates/b.yaml": cm_template("b")},
        r"evil/templates/b\.yaml \(document 1\): ConfigMap/team/x is defined twice "
        r"\(also in evil: evil/templates/a\.yaml \(document 1\)\)",
    ),
    "schema violation in values": Case(
        {
            "values.schema.json": '{"properties": {"replicas": {"type": "integer", "minimum": 1}}}',
            "templates/cm.yaml": cm_template("a"),
        },
        r"evil/values\.schema\.json: values do not match the schema: replicas: must satisfy minimum 1",
        {"values": {"replicas": 0}},
    ),
    "unknown field in a Deployment": Case(
        {"templates/deploy.yaml": DEPLOY},
        r"evil/templates/deploy\.yaml \(document 1\): Deployment/team/web: "
        r"spec\.template\.spec\.contianers: unknown field; "
        r"spec\.template\.spec: 'containers' is a required property",
    ),
    "sandbox escape": Case(
        {"templates/cm.yaml": cm_template("{{ ''.__class__.__mro__[1].__subclasses__() }}")},
        r"evil/templates/cm\.yaml:5: access to attribute '__class__' of 'str' object is unsafe",
    ),
    "exploding loops": Case(
        {
            "templates/cm.yaml": "{% for i in range(99999) %}{% for j in range(99999) %}"
            "{% endfor %}{% endfor %}\n"
        },
        r"evil/templates/cm\.yaml:1: the templates ran more than 5,000,000 loop iterations",
    ),
}


def materialize(root: Path, files: dict[str, str | Link]) -> None:
    (root / "outside.txt").write_text("a secret outside the chart\n")
    write(root, {"evil/Chart.yaml": CHART})
    for rel, content in files.items():
        path = root / "evil" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            os.symlink(content.target, path)
        else:
            path.write_text(content)


def request_args(case: Case) -> dict[str, Any]:
    app = case.app or {}
    return {"values_files": app.get("valuesFiles", ()), "values": app.get("values", {})}


@pytest.mark.parametrize("name", list(CASES))
def test_render_refuses(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    repo = tmp_path / "repo"
    repo.mkdir()
    materialize(repo, case.files)
    with pytest.raises(RenderFailed, match=case.message) as e:
        run(repo, "evil", label="evil: evil", **request_args(case))
    assert "a secret outside the chart" not in str(e.value)


@pytest.mark.parametrize(
    "name",
    [
        "undefined value",
        "include outside the chart",
        "symlinked template leaving the chart",
        "values file name leaving the repository",
        "string repetition",
        "YAML alias bomb in values",
        "unknown field in a Deployment",
    ],
)
def test_a_sync_of_a_refused_chart_writes_nothing(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster, name: str
) -> None:
    case = CASES[name]
    materialize(repo.path, case.files)
    repo.commit(name)
    app = {"name": "evil", "repo": str(repo.path), "path": "evil", "namespace": "evil", **(case.app or {})}
    cfg = parse_config({"source": {"allowedSchemes": ["file"]}, "apps": [app]}, "agent.yaml", tmp_path)
    result = reconcile(Context.create(cfg, cluster), cfg.apps[0])
    assert result.failure is not None and result.failure.stage is Stage.RENDER
    assert result.failure.message.startswith("evil: evil")
    assert cluster.writes == 0


def test_plain_folder_symlink_leaving_it_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: stolen}\n", "app/ok.yaml": ""},
    )
    os.symlink("../secret.yaml", tmp_path / "app" / "link.yaml")
    with pytest.raises(RenderFailed, match=r"app/link\.yaml: symlink points outside the folder; refused"):
        run(tmp_path, "app")


def test_app_path_through_a_symlink_leaving_the_repository(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "repo").mkdir()
    os.symlink("../elsewhere", tmp_path / "repo" / "app")
    with pytest.raises(RenderFailed, match="path 'app' leaves the repository; refused"):
        run(tmp_path / "repo", "app")


def test_symlink_inside_the_chart_is_followed(tmp_path: Path) -> None:
    materialize(
        tmp_path, {"shared/cm.yaml": cm_template("shared"), "templates/cm.yaml": Link("../shared/cm.yaml")}
    )
    assert run(tmp_path, "evil").manifests[0].obj["data"] == {"v": "shared"}


@pytest.mark.parametrize(
    ("template", "limits", "message"),
    [
        (
            "{% for i in range(1000) %}{{ i }}{% endfor %}",
            Limits(max_output_bytes=1000),
            "rendered output is larger than",
        ),
        ("{{ 'x' * 2000 }}", Limits(max_string_bytes=1000), "would make a value of 2,000 characters"),
        (
            "{% for i in range(90000) %}{% for j in range(90000) %}{{ i }}{% endfor %}{% endfor %}",
            Limits(max_seconds=0.2),
            "rendering took longer than 0.2 s; stopped",
        ),
        (
            "{% set a = [1] * 100 %}{% set b = [a] * 100 %}{{ b }}",
            Limits(max_items=5000),
            "a value expands to more than 5,000 items",
        ),
        ("{{ ('x' * 100) | center(5000) }}", Limits(max_string_bytes=1000), "center would make a value"),
        ("{{ 'ab'.ljust(5000) }}", Limits(max_string_bytes=1000), "str.ljust would make a value"),
        ("{{ '%5000s' % 'x' }}", Limits(max_string_bytes=1000), "a % format width would make"),
        ("{{ ('x' * 500) | replace('', 'yyyy') }}", Limits(max_string_bytes=1000), "replace would make"),
    ],
)
def test_limits(tmp_path: Path, template: str, limits: Limits, message: str) -> None:
    materialize(tmp_path, {"templates/cm.yaml": template + "\n"})
    with pytest.raises(RenderFailed, match=message):
        run(tmp_path, "evil", limits=limits)


def test_lists_and_strings_within_limits_still_work(tmp_path: Path) -> None:
    materialize(
        tmp_path, {"templates/cm.yaml": cm_template("{{ ('ab' * 3) ~ ([1, 2] * 2) | length | string }}")}
    )
    assert run(tmp_path, "evil").manifests[0].obj["data"] == {"v": "ababab4"}


def test_values_cannot_reach_the_python_runtime(tmp_path: Path) -> None:
    materialize(
        tmp_path,
        {"templates/cm.yaml": cm_template("{{ values.update({'a': 1}) }}")},
    )
    with pytest.raises(RenderFailed, match="unsafe"):
        run(tmp_path, "evil")
