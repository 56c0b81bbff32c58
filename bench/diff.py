"""Benchmark the diff stage in process: 10,000 objects, unchanged and 10% changed.

Four in five objects are Deployments (live: server defaults, status and
managedFields added), one in five a Secret written with stringData and read
back as base64 data; a changed Deployment was scaled and given a new image by
another manager, a changed Secret has a rotated value.

Run: .venv/bin/python bench/diff.py   (prints figures; the last line is one JSON object)
"""

from __future__ import annotations

import base64
import copy
import json
import time
from typing import Any

from agent.diff import diff_object
from agent.models import DiffStatus, ObjectKey

N = 10_000


def deployment(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": f"app-{i}",
            "namespace": "bench",
            "labels": {"app.kubernetes.io/name": f"app-{i}", "app.kubernetes.io/managed-by": "gitops-agent"},
            "annotations": {"gitops-agent.io/owner": "gitops-agent/bench"},
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": f"app-{i}"}},
            "template": {
                "metadata": {"labels": {"app": f"app-{i}"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.27",
                            "ports": [{"name": "http", "containerPort": 80}],
                            "env": [{"name": "MODE", "value": "prod"}, {"name": "LEVEL", "value": "info"}],
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                        }
                    ]
                },
            },
        },
    }


def live_of(obj: dict[str, Any]) -> dict[str, Any]:
    live = copy.deepcopy(obj)
    live["metadata"].update(
        {"uid": "x", "resourceVersion": "1", "generation": 1, "creationTimestamp": "2026-11-22T00:00:00Z"}
    )
    live["spec"].update(
        {"revisionHistoryLimit": 10, "progressDeadlineSeconds": 600, "strategy": {"type": "RollingUpdate"}}
    )
    pod = live["spec"]["template"]["spec"]
    pod.update({"restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler"})
    pod["containers"][0].update(
        {"imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log"}
    )
    live["status"] = {"replicas": 2, "readyReplicas": 2}
    live["metadata"]["managedFields"] = [
        _entry("gitops-agent", "Update", "", AGENT_FIELDS),
        _entry("kube-controller-manager", "Update", "status", {"f:status": {"f:replicas": {}}}),
    ]
    return live


AGENT_FIELDS = {
    "f:metadata": {"f:labels": {".": {}, "f:app.kubernetes.io/name": {}}},
    "f:spec": {
        "f:replicas": {},
        "f:template": {
            "f:spec": {
                "f:containers": {
                    'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}, "f:env": {}, "f:ports": {}}
                }
            }
        },
    },
}


def _entry(manager: str, operation: str, subresource: str, fields: dict[str, Any]) -> dict[str, Any]:
    out = {
        "manager": manager,
        "operation": operation,
        "apiVersion": "apps/v1",
        "time": "2026-11-22T10:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }
    if subresource:
        out["subresource"] = subresource
    return out


def secret(i: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Secret written with stringData, read back as base64 data."""
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"app-{i}", "namespace": "bench", "labels": {"app": f"app-{i}"}},
        "stringData": {"password": f"pw-{i}", "user": "app"},
    }
    live = {
        **copy.deepcopy(desired),
        "type": "Opaque",
        "data": {"password": base64.b64encode(f"pw-{i}".encode()).decode(), "user": "YXBw"},
    }
    del live["stringData"]
    live["metadata"].update({"uid": "x", "resourceVersion": "1", "creationTimestamp": "2026-11-22T00:00:00Z"})
    return desired, live


def run(changed_every: int | None) -> tuple[float, int]:
    pairs = []
    for i in range(N):
        if i % 5 == 4:  # one object in five is a Secret
            desired, live = secret(i)
            if changed_every and i % changed_every == 4:
                live["data"]["password"] = base64.b64encode(b"rotated").decode()
            pairs.append((ObjectKey("", "Secret", "bench", f"app-{i}"), desired, live))
            continue
        desired = deployment(i)
        live = live_of(desired)
        if changed_every and i % changed_every == 0:
            live["spec"]["replicas"] = 5
            live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
            live["metadata"]["managedFields"].append(
                _entry("kubectl-scale", "Update", "scale", {"f:spec": {"f:replicas": {}}})
            )
        pairs.append((ObjectKey("apps", "Deployment", "bench", f"app-{i}"), desired, live))
    start = time.perf_counter()
    drifted = sum(diff_object(k, d, lv).status is DiffStatus.MODIFIED for k, d, lv in pairs)
    return time.perf_counter() - start, drifted


def main() -> None:
    unchanged, n0 = run(None)
    changed, n1 = run(20)  # one Deployment and one Secret in every 20 objects: 10%
    assert n0 == 0 and n1 == N // 10
    print(f"diff {N} unchanged objects: {unchanged:.2f} s (target < 2 s)")
    print(f"diff {N} objects, 10% changed: {changed:.2f} s (target < 5 s)")
    print(
        json.dumps(
            {
                "objects": N,
                "unchanged_s": round(unchanged, 3),
                "ten_percent_changed_s": round(changed, 3),
                "drifted": n1,
            }
        )
    )


if __name__ == "__main__":
    main()
