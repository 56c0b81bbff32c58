from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import RenderError
from agent.render import Release, RenderRequest, render
from agent.render import deep_merge
from tests.conftest import EXAMPLES


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: demo\nversion: 1.0.0\n",
    "chart/values.yaml": "replicas: 1\nimage: {repo: nginx, tag: '1.27'}\nextra: {a: 1, b: 2}\n",
    "chart/values-prod.yaml": "replicas: 3\nextra: {b: null, c: 3}\n",
    "chart/templates/_helpers.j2": "{% macro name(r) %}{{ r.name }}-web{% endmacro %}\n",
    "chart/templates/deploy.yaml": (
        '{% from "_helpers.j2" import name %}\n'
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ name(release) }}\n"
        "spec:\n  replicas: {{ values.replicas }}\n"
        "  template:\n    spec:\n      containers:\n        - name: web\n"
        '          image: "{{ values.image.repo }}:{{ values.image.tag }}"\n'
        "  extra: {{ values.extra | to_json }}\n"
    ),
    "chart/templates/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: other\n",
}


def _req(root: Path, path: str = "chart", **kw: object) -> RenderRequest:
    kw.setdefault("validate", False)
    return RenderRequest(root=root, path=path, release=Release("rel", "team"), **kw)  # type: ignore[arg-type]


def test_chart_renders_with_values_layers(tmp_path: Path) -> None:
    root = _write(tmp_path, CHART)
    result = render(_req(root, values_files=["values-prod.yaml"], values={"image": {"tag": "1.28"}}))
    assert result.chart
    by_kind = {m.obj["kind"]: m for m in result.manifests}
    deploy = by_kind["Deployment"].obj
    assert deploy["metadata"] == {"name": "rel-web", "namespace": "team"}
    assert deploy["spec"]["replicas"] == 3
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert deploy["spec"]["extra"] == {"a": 1, "c": 3}  # null deleted b
    assert "namespace" not in by_kind["Namespace"].obj["metadata"]  # cluster-scoped
    assert by_kind["Deployment"].source == "chart/templates/deploy.yaml"


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    root = _write(tmp_path, CHART)
    first = render(_req(root)).manifests
    second = render(_req(root)).manifests
    assert [m.obj for m in first] == [m.obj for m in second]


def test_undefined_value_names_template_and_line(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "chart/Chart.yaml": "name: demo\nversion: 1.0.0\n",
            "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n"
            "  a: {{ values.missing.key }}\n",
        },
    )
    with pytest.raises(
        RenderError, match=r"chart/templates/cm\.yaml:6: 'dict object' has no attribute 'missing'"
    ):
        render(_req(root))


def test_template_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "chart/Chart.yaml": "name: demo\nversion: 1.0.0\n",
            "chart/templates/cm.yaml": "a: 1\nb: {{ values.x }\n",
        },
    )
    with pytest.raises(RenderError, match=r"chart/templates/cm\.yaml:2: "):
        render(_req(root))


def test_required_fails_with_its_message(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "chart/Chart.yaml": "name: demo\nversion: 1.0.0\n",
            "chart/templates/cm.yaml": '{{ values.get("pw") | required("pw is required") }}\n',
        },
    )
    with pytest.raises(RenderError, match=r"chart/templates/cm\.yaml:1: pw is required"):
        render(_req(root))


def test_sandbox_blocks_attribute_escapes(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "chart/Chart.yaml": "name: demo\nversion: 1.0.0\n",
            "chart/templates/x.yaml": "{{ ''.__class__.__mro__[1].__subclasses__() }}\n",
        },
    )
    with pytest.raises(RenderError, match="chart/templates/x.yaml"):
        render(_req(root))


def test_include_outside_the_chart_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("top secret")
    root = _write(
        tmp_path,
        {
            "chart/Chart.yaml": "name: demo\nversion: 1.0.0\n",
            "chart/templates/x.yaml": '{% include "../../secret.txt" %}\n',
        },
    )
    with pytest.raises(RenderError, match="outside the chart; refused"):
        render(_req(root))


def test_values_file_outside_the_repository_is_refused(tmp_path: Path) -> None:
    root = _write(tmp_path / "repo", CHART)
    with pytest.raises(RenderError, match="values file '../../x.yaml' leaves the repository"):
        render(_req(root, values_files=["../../x.yaml"]))


def test_missing_folder_is_a_render_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="nope: folder not found"):
        render(_req(tmp_path, path="nope"))


def test_plain_yaml_folder_recursive(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "app/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n"
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: elsewhere}\n",
            "app/sub/c.json": '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"}}',
            "app/README.md": "not yaml",
        },
    )
    result = render(_req(root, path="app"))
    assert not result.chart
    assert [(m.key.name, m.key.namespace, m.source) for m in result.manifests] == [
        ("a", "team", "app/a.yaml"),
        ("b", "elsewhere", "app/a.yaml"),
        ("c", "team", "app/sub/c.json"),
    ]


def test_document_without_kind_or_name(tmp_path: Path) -> None:
    root = _write(tmp_path, {"app/a.yaml": "apiVersion: v1\nmetadata: {name: a}\n"})
    with pytest.raises(RenderError, match=r"app/a\.yaml \(document 1\): missing kind"):
        render(_req(root, path="app"))
    root = _write(tmp_path, {"app/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"})
    with pytest.raises(RenderError, match="ConfigMap has no metadata.name"):
        render(_req(root, path="app"))


def test_duplicates_are_refused(tmp_path: Path) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
    root = _write(tmp_path, {"app/a.yaml": cm, "app/b.yaml": cm})
    with pytest.raises(RenderError, match=r"ConfigMap/team/a is defined twice \(also in app/a\.yaml\)"):
        render(_req(root, path="app"))


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    root = _write(tmp_path, {"app/a.yaml": "a: 1\n b: [\n"})
    with pytest.raises(RenderError, match=r"app/a\.yaml:\d+: invalid YAML"):
        render(_req(root, path="app"))


def test_custom_resource_scope_from_a_crd_in_the_same_render(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "app/crd.yaml": """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: clusterthings.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: ClusterThing, plural: clusterthings}
  versions: [{name: v1, served: true, storage: true}]
---
apiVersion: example.com/v1
kind: ClusterThing
metadata: {name: one, namespace: ignored}
"""
        },
    )
    thing = next(m for m in render(_req(root, path="app")).manifests if m.obj["kind"] == "ClusterThing")
    assert "namespace" not in thing.obj["metadata"]


def test_deep_merge_semantics() -> None:
    assert deep_merge({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"c": None, "d": 4}, "l": [2]}) == {
        "a": {"b": 1, "d": 4},
        "l": [2],
    }


@pytest.mark.parametrize("env", ["staging", "production"])
def test_example_guestbook_chart_renders(env: str) -> None:
    result = render(
        RenderRequest(
            root=EXAMPLES.parent,
            path="examples-repo/apps/guestbook",
            release=Release(f"guestbook-{env}", f"guestbook-{env}"),
            values_files=[f"values-{env}.yaml"],
        )
    )
    kinds = sorted(m.obj["kind"] for m in result.manifests)
    assert kinds == ["ConfigMap", "Deployment", "Secret", "Service"]
    deploy = next(m.obj for m in result.manifests if m.obj["kind"] == "Deployment")
    assert deploy["spec"]["replicas"] == (3 if env == "production" else 1)
    assert all(m.obj["metadata"]["namespace"] == f"guestbook-{env}" for m in result.manifests)
