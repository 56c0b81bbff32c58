"""Helm charts in Go templates, rendered by helm: subcharts, a library
chart through ``file://``, values layering and ``--set``, ``crds/`` first,
``.Capabilities`` from the cluster, the cache, and ``lookup`` refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import RenderFailed
from agent.render import Capabilities, engines, parse_set
from tests.support.render import by_name, run, write

pytestmark = pytest.mark.usefixtures("helm_binary")

CHART = {
    "shop/Chart.yaml": """\
apiVersion: v2
name: shop
version: 1.4.0
appVersion: "2.0"
dependencies:
  - name: common
    version: 1.x
    repository: file://../common
  - name: cache
    version: 0.1.0
    condition: cache.enabled
""",
    "shop/Chart.lock": "dependencies:\n- name: common\n  repository: file://../common\n  version: 1.0.0\n"
    "- name: cache\n  repository: ''\n  version: 0.1.0\n"
    "digest: sha256:0\ngenerated: '2026-01-01T00:00:00Z'\n",
    "shop/values.yaml": "replicas: 1\nimage: {repository: nginx, tag: '1.27'}\n"
    "cache: {enabled: true}\ngreeting: hello\n",
    "shop/templates/deploy.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "common.fullname" . }}
  labels: {{- include "common.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      containers:
        - name: web
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
""",
    "shop/templates/cm.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-info
data:
  greeting: {{ .Values.greeting | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  {{- if .Capabilities.APIVersions.Has "example.com/v1/Widget" }}
  widgets: "served"
  {{- end }}
  namespace: {{ .Release.Namespace | quote }}
""",
    "shop/templates/NOTES.txt": "Thanks for installing {{ .Chart.Name }}.\n",
    "shop/crds/widget.yaml": """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
""",
    "shop/charts/cache/Chart.yaml": "apiVersion: v2\nname: cache\nversion: 0.1.0\n",
    "shop/charts/cache/values.yaml": "size: 64\n",
    "shop/charts/cache/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
    "  name: {{ .Release.Name }}-cache\ndata:\n  size: {{ .Values.size | quote }}\n",
    "common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 1.0.0\ntype: library\n",
    "common/templates/_helpers.tpl": """\
{{- define "common.fullname" -}}{{ .Release.Name }}-{{ .Chart.Name }}{{- end -}}
{{- define "common.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}
""",
}


def test_a_chart_with_a_subchart_and_a_library_chart(tmp_path: Path) -> None:
    write(tmp_path, {**CHART, "shop/prod.yaml": "replicas: 3\n"})
    caps = Capabilities.of("1.31.2", ["example.com/v1/Widget"])
    result = run(
        tmp_path,
        "shop",
        values_files=["prod.yaml"],
        values={"greeting": "from the app"},
        overrides=[parse_set(["image.tag=1.28", "cache.size=128"])],
        capabilities=caps,
    )
    objs = by_name(result)
    assert result.manifests[0].obj["kind"] == "CustomResourceDefinition" and result.crds == 1
    deploy = objs["Deployment/rel-shop"]
    assert deploy["spec"]["replicas"] == 3
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert deploy["metadata"]["labels"]["app.kubernetes.io/version"] == "2.0"
    assert objs["ConfigMap/rel-info"]["data"] == {
        "greeting": "from the app",
        "kube": "v1.31.2",
        "widgets": "served",
        "namespace": "team",
    }
    assert objs["ConfigMap/rel-cache"]["data"] == {"size": "128"}
    assert objs["ConfigMap/rel-info"]["metadata"]["namespace"] == "team"
    assert result.inputs["renderer"] == "helm" and result.inputs["chart"] == "shop"
    assert result.inputs["version"] == "1.4.0" and result.inputs["engine"].startswith("helm v")
    assert result.inputs["capabilities"]["kubeVersion"] == "v1.31.2"


def test_a_condition_turns_a_subchart_off(tmp_path: Path) -> None:
    write(tmp_path, CHART)
    result = run(tmp_path, "shop", values={"cache": {"enabled": False}})
    assert "ConfigMap/rel-cache" not in by_name(result)


def test_the_same_inputs_run_helm_once(tmp_path: Path) -> None:
    write(tmp_path, CHART)
    first = run(tmp_path, "shop")
    runs = engines.RUNS["helm"]
    again = run(tmp_path, "shop")
    assert engines.RUNS["helm"] == runs
    assert again.manifests == first.manifests and again.inputs["digest"] == first.inputs["digest"]
    changed = run(tmp_path, "shop", values={"replicas": 2})
    assert engines.RUNS["helm"] == runs + 1 and changed.inputs["digest"] != first.inputs["digest"]


def test_lookup_is_refused_naming_the_file_and_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            **CHART,
            "shop/templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
            '{{- $old := lookup "v1" "Secret" .Release.Namespace "s" }}\n',
        },
    )
    runs = engines.RUNS["helm"]
    with pytest.raises(RenderFailed, match=r"^shop/templates/secret\.yaml:4: lookup is refused"):
        run(tmp_path, "shop", label="shop")
    assert engines.RUNS["helm"] == runs


def test_a_dependency_from_a_repository_must_be_vendored(tmp_path: Path) -> None:
    chart = (
        CHART["shop/Chart.yaml"]
        + "  - name: redis\n    version: 18.x\n    repository: https://charts.example.com\n"
    )
    write(tmp_path, {**CHART, "shop/Chart.yaml": chart})
    with pytest.raises(
        RenderFailed, match=r"shop/Chart\.yaml: dependency redis from https://charts\.example\.com"
    ):
        run(tmp_path, "shop", label="shop")


def test_helms_own_errors_come_in_one_line(tmp_path: Path) -> None:
    write(tmp_path, {**CHART, "shop/templates/bad.yaml": "{{ .Values.nope.deeper }}\n"})
    with pytest.raises(RenderFailed, match=r"^shop: helm failed: .*bad\.yaml.*nil pointer") as e:
        run(tmp_path, "shop", label="shop")
    assert "\n" not in str(e.value)


def test_jinja_charts_are_not_taken_for_helm_charts(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "j/Chart.yaml": "apiVersion: v2\nname: j\nversion: 1.0.0\n",
            "j/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
            "metadata: {name: '{{ release.name }}'}\n",
        },
    )
    runs = engines.RUNS["helm"]
    assert run(tmp_path, "j").inputs["renderer"] == "jinja"
    assert engines.RUNS["helm"] == runs


def test_engine_versions_name_helm() -> None:
    assert engines.engine_versions()["helm"].startswith("v4.3.2 (GITOPS_AGENT_HELM")
