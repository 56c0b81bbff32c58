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

from agent.render import Release, RenderRequest, render

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
    figures["target_warm_s"] = 1.0
    figures["target_met"] = figures["charts_100x10_warm_s"] < 1.0 and figures["loop_1000_warm_s"] < 1.0
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
