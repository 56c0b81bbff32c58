"""Benchmark of the render stage.

Two workloads of 1,000 manifests each, rendered with the defaults the sync
engine uses (sandbox, budgets, OpenAPI validation on):

- ``charts``: 100 charts of 10 templates (Deployment, Service, ConfigMap,
  Secret, ServiceAccount, Role, RoleBinding, PodDisruptionBudget,
  HorizontalPodAutoscaler, Ingress), each with its own helpers partial;
- ``loop``: one chart whose template loops to 1,000 Deployments.

Each is rendered cold (a new process's first render: templates compiled)
and then warm (compiled templates cached per chart and revision, as in the
daemon), best of a few runs.  The target: warm under 1 s per workload.
``charts_new_revision_s`` renders a copy of the charts in a new folder, as
a new commit's checkout is: templates whose text did not change reuse their
compiled code.

Beside them, the outside engines (each render of 10 objects):

- ``kustomize``: 100 overlays (a prefix, labels, an image tag, a replica
  count, a patch, a configMapGenerator) over one base, cold (each overlay
  runs ``kustomize build``) and warm (the render cache: the digest of the
  files read, no process);
- ``helm``: 100 Go-template charts of the same 10 templates, cold (each runs
  ``helm template``) and warm (cached), when helm is installed
  (``GITOPS_AGENT_HELM`` or PATH); otherwise its figures are null.

The processes each workload started are counted too (``*_runs``).

    .venv/bin/python bench/render.py

The last line printed is one JSON object with the figures (seconds).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.errors import RenderFailed
from agent.render import Release, RenderRequest, engines, helm, kustomize, render

HELPERS = """\
{% macro fullname() %}{{ (release.name ~ "-" ~ chart.name) | trunc(63) | trim_suffix("-") }}{% endmacro %}
{% macro labels(component) -%}
app.kubernetes.io/name: {{ chart.name }}
app.kubernetes.io/instance: {{ release.name }}
app.kubernetes.io/component: {{ component }}
app.kubernetes.io/version: {{ chart.appVersion | quote }}
{%- endmacro %}
"""

META = """\
{% from "_helpers.j2" import fullname, labels with context %}
metadata:
  name: {{ fullname() }}
  labels: {{ labels("COMPONENT") | nindent(4) }}
"""

TEMPLATES = {
    "deployment.yaml": """apiVersion: apps/v1
kind: Deployment
META
spec:
  replicas: {{ values.replicas }}
  selector:
    matchLabels: {app: {{ fullname() }}}
  template:
    metadata:
      labels: {app: {{ fullname() }}}
      annotations:
        checksum/config: {{ values.config | to_json | sha256sum }}
    spec:
      serviceAccountName: {{ fullname() }}
      containers:
        - name: app
          image: "{{ values.image.repository }}:{{ values.image.tag }}"
          ports: [{name: http, containerPort: {{ values.port }}}]
          env:
{% for key, value in values.config.items() %}
            - name: {{ key | upper }}
              value: {{ value | quote }}
{% endfor %}
          resources: {{ values.resources | to_yaml | nindent(12) }}
""",
    "service.yaml": """apiVersion: v1
kind: Service
META
spec:
  ports: [{name: http, port: 80, targetPort: http}]
  selector: {app: {{ fullname() }}}
""",
    "configmap.yaml": """apiVersion: v1
kind: ConfigMap
META
data: {{ values.config | to_yaml | nindent(2) }}
""",
    "secret.yaml": """apiVersion: v1
kind: Secret
META
type: Opaque
data:
  password: {{ values.password | required("password") | b64enc }}
""",
    "serviceaccount.yaml": """apiVersion: v1
kind: ServiceAccount
META
""",
    "role.yaml": """apiVersion: rbac.authorization.k8s.io/v1
kind: Role
META
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get, list, watch]
""",
    "rolebinding.yaml": """apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
META
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: {{ fullname() }}}
subjects: [{kind: ServiceAccount, name: {{ fullname() }}}]
""",
    "pdb.yaml": """apiVersion: policy/v1
kind: PodDisruptionBudget
META
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: {{ fullname() }}}}
""",
    "hpa.yaml": """apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
META
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: {{ fullname() }}}
  minReplicas: {{ values.replicas }}
  maxReplicas: {{ values.replicas * 4 }}
""",
    "ingress.yaml": """apiVersion: networking.k8s.io/v1
kind: Ingress
META
spec:
  rules:
    - host: {{ fullname() }}.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: {service: {name: {{ fullname() }}, port: {name: http}}}
""",
}

VALUES = """\
replicas: 2
port: 8080
password: not-a-real-password
image: {repository: registry.example.com/team/app, tag: "1.4.2"}
config: {log_level: info, feature_x: "on", region: eu-west-1, timeout: "30s"}
resources:
  requests: {cpu: 100m, memory: 128Mi}
  limits: {memory: 256Mi}
"""

LOOP = """\
{% for i in range(values.count) %}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ release.name }}-{{ i }}
  labels: {app: {{ release.name }}, index: {{ i | quote }}}
spec:
  replicas: 1
  selector: {matchLabels: {app: {{ release.name }}-{{ i }}}}
  template:
    metadata: {labels: {app: {{ release.name }}-{{ i }}}}
    spec:
      containers:
        - name: app
          image: "{{ values.image }}"
          env: [{name: INDEX, value: {{ i | quote }}}]
{% endfor %}
"""


def make_charts(root: Path) -> None:
    for n in range(100):
        chart = root / f"chart-{n:03d}"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text(
            f"apiVersion: v2\nname: app{n:03d}\nversion: 1.0.{n}\nappVersion: '1.4'\n"
        )
        (chart / "values.yaml").write_text(VALUES)
        (chart / "templates" / "_helpers.j2").write_text(HELPERS)
        for name, body in TEMPLATES.items():
            kind = name.split(".")[0]
            # each chart's text differs (as real charts do), so "cold" really compiles 1,100 templates
            header = f"{{# {chart.name}/{name} #}}\n"
            (chart / "templates" / name).write_text(
                header + body.replace("META", META.replace("COMPONENT", kind))
            )
    loop = root / "loop"
    (loop / "templates").mkdir(parents=True)
    (loop / "Chart.yaml").write_text("apiVersion: v2\nname: loop\nversion: 1.0.0\n")
    (loop / "values.yaml").write_text("count: 1000\nimage: registry.example.com/app:1\n")
    (loop / "templates" / "deployments.yaml").write_text(LOOP)


def new_revision(root: Path) -> Path:
    """The same files in another folder, as the next commit's checkout."""
    target = root.parent / (root.name + "-next")
    shutil.copytree(root, target)
    return target


def render_charts(root: Path, validate: bool = True) -> int:
    total = 0
    for n in range(100):
        result = render(
            RenderRequest(
                root=root, path=f"chart-{n:03d}", release=Release(f"rel{n}", "bench"), validate=validate
            )
        )
        total += len(result.manifests)
    return total


def render_loop(root: Path, validate: bool = True) -> int:
    return len(
        render(
            RenderRequest(root=root, path="loop", release=Release("loop", "bench"), validate=validate)
        ).manifests
    )


OVERLAY = """\
namePrefix: o{n}-
resources: [../../base]
labels: [{{pairs: {{overlay: o{n}}}}}]
images: [{{name: registry.example.com/team/app, newTag: "1.4.{n}"}}]
replicas: [{{name: app, count: {replicas}}}]
patches:
- target: {{kind: ConfigMap, name: app}}
  patch: |-
    - {{op: add, path: /data/overlay, value: o{n}}}
configMapGenerator: [{{name: settings, literals: [overlay=o{n}]}}]
"""
GO_TEMPLATES = {
    "deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: '{{ .Release.Name }}'}\n"
    "spec:\n  replicas: {{ .Values.replicas }}\n  selector: {matchLabels: {app: '{{ .Release.Name }}'}}\n"
    "  template:\n    metadata: {labels: {app: '{{ .Release.Name }}'}}\n    spec:\n      containers:\n"
    "        - name: app\n          image: '{{ .Values.image.repository }}:{{ .Values.image.tag }}'\n"
    "          env:\n{{- range $k, $v := .Values.config }}\n            - {name: {{ upper $k }}, "
    "value: {{ $v | quote }}}\n{{- end }}\n",
    **{
        f"{kind.lower()}-{i}.yaml": f"apiVersion: v1\nkind: {kind}\n"
        + f"metadata: {{name: '{{{{ .Release.Name }}}}-{i}'}}\n"
        + ("data: {{ toYaml .Values.config | nindent 2 }}\n" if kind == "ConfigMap" else "")
        for i, kind in enumerate(["ConfigMap"] * 5 + ["ServiceAccount"] * 4)
    },
}


def make_engine_apps(root: Path) -> None:
    base = root / "kbase"
    base.mkdir(parents=True)
    (base / "kustomization.yaml").write_text("resources: [app.yaml, cm.yaml, extra.yaml]\n")
    extra = [f"apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: sa{i}}}\n" for i in range(7)]
    (base / "extra.yaml").write_text("---\n".join(extra))
    (base / "app.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  replicas: 1\n"
        "  selector: {matchLabels: {app: app}}\n  template:\n    metadata: {labels: {app: app}}\n"
        "    spec: {containers: [{name: app, image: registry.example.com/team/app:1.4.0}]}\n"
    )
    (base / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {a: b}\n")
    for n in range(100):
        overlay = root / "koverlays" / f"o{n:03d}"
        overlay.mkdir(parents=True)
        (overlay / "kustomization.yaml").write_text(
            OVERLAY.format(n=n, replicas=1 + n % 3).replace("../../base", "../../kbase")
        )
        chart = root / "gocharts" / f"c{n:03d}"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: c{n:03d}\nversion: 1.0.{n}\n")
        (chart / "values.yaml").write_text(VALUES)
        for name, body in GO_TEMPLATES.items():
            (chart / "templates" / name).write_text(body)


def render_engine_apps(root: Path, folder: str) -> int:
    total = 0
    for path in sorted((root / folder).iterdir()):
        rel = path.relative_to(root).as_posix()
        total += len(
            render(RenderRequest(root=root, path=rel, release=Release(path.name, "bench"))).manifests
        )
    return total


def engine_figures(root: Path) -> dict[str, object]:
    """Cold (caches emptied: one process per app) and warm (cached) renders."""
    make_engine_apps(root)
    out: dict[str, object] = {}
    for name, folder, cache in (
        ("kustomize", "koverlays", kustomize.CACHE),
        ("helm", "gocharts", helm.CACHE),
    ):
        try:
            engine = engines.helm() if name == "helm" else engines.kustomize()
        except RenderFailed:
            out |= {f"{name}_100_cold_s": None, f"{name}_100_warm_s": None, f"{name}_runs": 0}
            continue
        cache.clear()
        runs = engines.RUNS[name]
        cold, count = timed(render_engine_apps, root, folder)
        assert count == 1000, (name, count)
        cold_runs = engines.RUNS[name] - runs
        warm = best(render_engine_apps, root, folder)
        out |= {
            f"{name}_100_cold_s": round(cold, 3),
            f"{name}_100_warm_s": round(warm, 3),
            f"{name}_cold_runs": cold_runs,
            f"{name}_warm_runs": engines.RUNS[name] - runs - cold_runs,
        }
        out[name] = engine.label
    return out


def timed(fn, *args) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    count = fn(*args)
    return time.perf_counter() - start, count


def best(fn, *args, runs: int = 3) -> float:  # type: ignore[no-untyped-def]
    return min(timed(fn, *args)[0] for _ in range(runs))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "rev1"
        make_charts(root)
        charts_cold, charts_count = timed(render_charts, root)
        loop_cold, loop_count = timed(render_loop, root)
        assert charts_count == 1000 and loop_count == 1000, (charts_count, loop_count)
        figures = {
            "manifests_per_workload": 1000,
            "charts_100x10_cold_s": round(charts_cold, 3),
            "charts_100x10_warm_s": round(best(render_charts, root), 3),
            "charts_100x10_warm_no_validation_s": round(best(render_charts, root, False), 3),
            "charts_new_revision_s": round(timed(render_charts, new_revision(root))[0], 3),
            "loop_1000_cold_s": round(loop_cold, 3),
            "loop_1000_warm_s": round(best(render_loop, root), 3),
            "loop_1000_warm_no_validation_s": round(best(render_loop, root, False), 3),
        }
        figures |= engine_figures(Path(tmp) / "engines")
    figures["target_warm_s"] = 1.0
    figures["target_met"] = figures["charts_100x10_warm_s"] < 1.0 and figures["loop_1000_warm_s"] < 1.0
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
