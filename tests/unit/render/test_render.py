"""The render stage: charts and plain folders in, checked manifests out."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import RenderFailed
from agent.render import Release, RenderRequest, deep_merge, render
from agent.render.manifests import to_yaml_stream
from tests.support.render import by_name, chart, cm, run, write

DEPLOY = """\
{% from "_helpers.j2" import name %}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ name(release) }}
spec:
  replicas: {{ values.replicas }}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
      annotations: {extra: {{ values.extra | to_json | quote }}}
    spec:
      containers:
        - name: web
          image: "{{ values.image.repo }}:{{ values.image.tag }}"
"""


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    root = chart(
        tmp_path,
        {
            "_helpers.j2": "{% macro name(r) %}{{ r.name }}-web{% endmacro %}\n",
            "deploy.yaml": DEPLOY,
            "ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: other\n",
            "README.txt": "not rendered",
        },
        values="replicas: 1\nimage: {repo: nginx, tag: '1.27'}\nextra: {a: 1, b: 2}\n",
    )
    write(root, {"chart/values-prod.yaml": "replicas: 3\nextra: {b: null, c: 3}\n"})
    return root


def test_values_layers_in_order_and_null_deletes(demo: Path) -> None:
    result = run(
        demo,
        values_files=["values-prod.yaml"],
        values={"image": {"tag": "1.28"}},
        overrides=[{"replicas": 5}],
    )
    assert result.chart
    deploy = by_name(result)["Deployment/rel-web"]
    assert deploy["spec"]["replicas"] == 5  # --set over inline over values file over values.yaml
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert deploy["spec"]["template"]["metadata"]["annotations"]["extra"] == '{"a":1,"c":3}'


def test_namespace_set_on_namespaced_objects_only(demo: Path) -> None:
    objs = by_name(run(demo))
    assert objs["Deployment/rel-web"]["metadata"] == {"name": "rel-web", "namespace": "team"}
    assert "namespace" not in objs["Namespace/other"]["metadata"]


def test_each_object_keeps_its_file_and_document(demo: Path) -> None:
    result = run(demo, label="app: apps/demo")
    sources = {m.key.kind: (m.source, m.index) for m in result.manifests}
    assert sources["Deployment"] == ("app: apps/demo/templates/deploy.yaml", 0)
    assert sources["Namespace"] == ("app: apps/demo/templates/ns.yaml", 0)


def test_partials_and_other_files_are_not_rendered(demo: Path) -> None:
    assert sorted(m.key.kind for m in run(demo).manifests) == ["Deployment", "Namespace"]


def test_same_input_same_bytes(demo: Path) -> None:
    assert to_yaml_stream(run(demo).manifests) == to_yaml_stream(run(demo).manifests)


def test_yaml_stream_names_sources_like_helm_template(demo: Path) -> None:
    text = to_yaml_stream(run(demo).manifests)
    assert text.startswith("---\n# Source: chart/templates/deploy.yaml\napiVersion: apps/v1\n")


def test_values_on_a_plain_folder_are_an_error(tmp_path: Path) -> None:
    write(tmp_path, {"app/a.yaml": cm("a")})
    with pytest.raises(RenderFailed, match="values are set but the folder is not a chart"):
        run(tmp_path, "app", values={"x": 1})


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(RenderFailed, match="nope: folder not found"):
        run(tmp_path, "nope")


def test_plain_yaml_folder_recursive_in_path_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/a.yaml": cm("a")
            + "---\n---\n"
            + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: elsewhere}\n",
            "app/sub/c.json": '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"}}',
            "app/B.yml": cm("upper"),
            "app/README.md": "not yaml",
            "app/.github/ci.yaml": "not: an object",
        },
    )
    result = run(tmp_path, "app")
    assert not result.chart
    assert [(m.key.name, m.key.namespace, m.source, m.index) for m in result.manifests] == [
        ("upper", "team", "app/B.yml", 0),
        ("a", "team", "app/a.yaml", 0),
        ("b", "elsewhere", "app/a.yaml", 2),
        ("c", "team", "app/sub/c.json", 0),
    ]


def test_kind_list_is_unfolded(tmp_path: Path) -> None:
    write(
        tmp_path, {"app/l.yaml": "apiVersion: v1\nkind: List\nitems:\n  - " + cm("x").replace("\n", "\n    ")}
    )
    assert [m.key.name for m in run(tmp_path, "app").manifests] == ["x"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("apiVersion: v1\nmetadata: {name: a}\n", r"app/a\.yaml \(document 1\): missing kind"),
        ("kind: ConfigMap\nmetadata: {name: a}\n", "missing apiVersion"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "ConfigMap has no metadata.name"),
        ("- a\n- b\n", "expected a Kubernetes object"),
        ("a: 1\n b: [\n", r"app/a\.yaml:\d+: invalid YAML"),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: 3}\n",
            "namespace must be a string",
        ),
    ],
)
def test_documents_that_are_not_objects(tmp_path: Path, doc: str, message: str) -> None:
    write(tmp_path, {"app/a.yaml": doc})
    with pytest.raises(RenderFailed, match=message):
        run(tmp_path, "app")


def test_duplicates_name_both_places(tmp_path: Path) -> None:
    write(tmp_path, {"app/a.yaml": cm("a"), "app/b.yaml": cm("a")})
    with pytest.raises(
        RenderFailed,
        match=r"app/b\.yaml \(document 1\): ConfigMap/team/a is defined twice "
        r"\(also in app/a\.yaml \(document 1\)\)",
    ):
        run(tmp_path, "app")


def test_same_name_in_two_namespaces_is_no_duplicate(tmp_path: Path) -> None:
    other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: other}\n"
    write(tmp_path, {"app/a.yaml": cm("a"), "app/b.yaml": other})
    assert len(run(tmp_path, "app").manifests) == 2


def test_dates_stay_strings(tmp_path: Path) -> None:
    write(tmp_path, {"app/a.yaml": cm("a", "{day: 2024-01-31, when: 2024-01-31T10:00:00Z, eq: =}")})
    assert run(tmp_path, "app").manifests[0].obj["data"] == {
        "day": "2024-01-31",
        "when": "2024-01-31T10:00:00Z",
        "eq": "=",
    }


def test_custom_resource_scope_from_a_crd_in_the_same_render(tmp_path: Path) -> None:
    crd = """\
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
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: two}
"""
    write(tmp_path, {"app/crd.yaml": crd})
    objs = by_name(run(tmp_path, "app"))
    assert "namespace" not in objs["ClusterThing/one"]["metadata"]
    assert objs["Widget/two"]["metadata"]["namespace"] == "team"  # unknown kinds are namespaced


def test_deep_merge_semantics() -> None:
    assert deep_merge({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"c": None, "d": 4}, "l": [2]}) == {
        "a": {"b": 1, "d": 4},
        "l": [2],
    }


def test_request_for_the_engine_keeps_working(tmp_path: Path) -> None:
    """The sync engine's call: release, values files, inline values, label."""
    root = chart(
        tmp_path, {"cm.yaml": cm("{{ release.name }}", "{n: {{ values.n | quote }}}")}, values="n: 1\n"
    )
    result = render(
        RenderRequest(
            root=root,
            path="chart",
            release=Release(name="app", namespace="ns", is_install=False),
            values_files=(),
            values={"n": 2},
            label="app: chart",
        )
    )
    assert result.manifests[0].obj["data"] == {"n": "2"}
    assert result.manifests[0].source == "app: chart/templates/cm.yaml"
