"""Benchmark a cold sync of 1,000 objects (5 kinds) over HTTP, side by side
with ``kubectl apply --server-side`` and with the emulator's peak create rate.

Each measurement gets a fresh emulated cluster served over HTTP on 127.0.0.1
(the same REST server ``gitops-agent emulator serve`` runs, over TLS); the agent talks
to it through the official client (``cluster.kubeconfig``), as it would to a
real cluster.  Prints figures; the last line is one JSON object with
``agent_cold_sync_s``, ``kubectl_apply_s``, ``ratio_agent_to_kubectl``,
``peak_creates_per_s``, ``ratio_agent_to_peak``, ``no_change_sync_s``.

    python bench/sync.py [--objects 1000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from agent.cluster.emulator import EmulatedCluster, Options
from agent.cluster.emulator.serving import EmulatorServer

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "b@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "b@example.invalid",
}


def manifests(n: int, namespace: str) -> list[dict[str, Any]]:
    """``n`` objects of five kinds, as an app would have them."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        name, kind = f"obj-{i:04d}", i % 5
        meta = {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/name": name}}
        if kind == 0:
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": meta,
                    "data": {"app.properties": f"id={i}\nmode=prod\n", "level": "info"},
                }
            )
        elif kind == 1:
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": meta,
                    "type": "Opaque",
                    "stringData": {"password": f"secret-{i}"},
                }
            )
        elif kind == 2:
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": meta,
                    "spec": {
                        "selector": {"app": name},
                        "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
                    },
                }
            )
        elif kind == 3:
            out.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
        else:
            out.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": meta,
                    "spec": {
                        "replicas": 1,
                        "selector": {"matchLabels": {"app": name}},
                        "template": {
                            "metadata": {"labels": {"app": name}},
                            "spec": {
                                "containers": [
                                    {
                                        "name": "web",
                                        "image": "nginx:1.27",
                                        "ports": [{"containerPort": 8080}],
                                        "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}},
                                    }
                                ]
                            },
                        },
                    },
                }
            )
    return out


class Served:
    """A fresh emulated cluster served over HTTP, with its kubeconfig."""

    def __init__(self, folder: Path, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.engine = EmulatedCluster(folder / f"{name}.db", Options())
        self.server = EmulatorServer(self.engine, tls=True).start()  # kubectl sends tokens only over TLS
        self.kubeconfig = self.server.write_kubeconfig(folder / f"{name}.kubeconfig")

    def close(self) -> None:
        self.server.stop()
        self.engine.close()


def run(cmd: list[str], **kw: Any) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, **kw)
    return time.perf_counter() - start, done


def agent_sync(folder: Path, objects: list[dict[str, Any]]) -> dict[str, Any]:
    repo = folder / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "all.yaml").write_text(yaml.safe_dump_all(objects))
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    served = Served(folder, "agent")
    config = folder / "agent.yaml"
    config.write_text(
        textwrap.dedent(f"""
        cluster:
          kubeconfig: {{path: {served.kubeconfig}}}
        source: {{allowedSchemes: [file]}}
        apps:
          - name: bench
            repo: {repo}
            path: app
            namespace: bench
            syncPolicy: {{createNamespace: true, parallelism: 16}}
        """)
    )
    cmd = [sys.executable, "-m", "agent", "sync", "-c", str(config), "-o", "json"]
    try:
        cold_s, cold = run(cmd)
        if cold.returncode != 0:
            raise SystemExit(f"agent sync failed: {cold.stdout[-2000:]} {cold.stderr[-2000:]}")
        summary = json.loads(cold.stdout)["apps"][0]["summary"]
        served.engine.requests.clear()
        again_s, again = run(cmd)
        second = json.loads(again.stdout)["apps"][0]["summary"]
    finally:
        served.close()
    return {
        "agent_cold_sync_s": round(cold_s, 3),
        "agent_summary": summary,
        "no_change_sync_s": round(again_s, 3),
        "no_change_summary": second,
    }


def kubectl_apply(folder: Path, objects: list[dict[str, Any]]) -> dict[str, Any]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return {"kubectl_apply_s": None, "kubectl_error": "kubectl not installed"}
    served = Served(folder, "kubectl")
    manifest = folder / "kubectl.yaml"
    manifest.write_text(
        yaml.safe_dump_all(
            [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}, *objects]
        )
    )
    env = {**os.environ, "KUBECONFIG": str(served.kubeconfig)}
    try:
        took, done = run([kubectl, "apply", "--server-side", "-f", str(manifest)], env=env)
    finally:
        served.close()
    if done.returncode != 0:
        return {"kubectl_apply_s": None, "kubectl_error": (done.stderr or done.stdout).strip()[-300:]}
    return {"kubectl_apply_s": round(took, 3)}


def peak_creates(folder: Path, n: int, connections: int = 8) -> dict[str, Any]:
    """The emulator accepting ``n`` creates over HTTP, with a plain keep-alive
    client on ``connections`` connections in parallel."""
    served = Served(folder, "peak")
    doc = yaml.safe_load(served.kubeconfig.read_text())
    url = doc["clusters"][0]["cluster"]["server"]
    token = (doc["users"][0]["user"] or {}).get("token", "")
    scheme, _, hostport = url.partition("://")
    host, _, port = hostport.partition(":")
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}

    def connect() -> http.client.HTTPConnection:
        if scheme == "https":
            return http.client.HTTPSConnection(host, int(port), context=ssl._create_unverified_context())  # noqa: S323
        return http.client.HTTPConnection(host, int(port))

    first = connect()
    first.request(
        "POST",
        "/api/v1/namespaces",
        json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}),
        headers,
    )
    first.getresponse().read()
    bodies = [
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"peak-{i}", "namespace": "bench"},
                "data": {"i": str(i)},
            }
        )
        for i in range(n)
    ]

    def worker(part: list[str]) -> None:
        conn = connect()
        for body in part:
            conn.request("POST", "/api/v1/namespaces/bench/configmaps", body, headers)
            response = conn.getresponse()
            response.read()
            assert response.status == 201, response.status
        conn.close()

    try:
        start = time.perf_counter()
        threads = [
            threading.Thread(target=worker, args=(bodies[i::connections],)) for i in range(connections)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.perf_counter() - start
    finally:
        served.close()
    return {"peak_creates_per_s": round(n / took), "peak_1000_creates_s": round(1000 / (n / took), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=1000)
    args = parser.parse_args()
    objects = manifests(args.objects, "bench")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        figures: dict[str, Any] = {"objects": args.objects, "kinds": 5}
        figures |= peak_creates(folder / "peak", args.objects)
        figures |= kubectl_apply(folder / "kubectl", objects)
        figures |= agent_sync(folder / "agent", objects)
    agent_s = figures["agent_cold_sync_s"]
    if figures.get("kubectl_apply_s"):
        figures["ratio_agent_to_kubectl"] = round(agent_s / figures["kubectl_apply_s"], 3)
    figures["ratio_agent_to_peak"] = round(agent_s / figures["peak_1000_creates_s"], 3)
    print(f"cold sync of {args.objects} objects (5 kinds) over HTTP: {agent_s:.2f} s")
    print(
        f"kubectl apply --server-side of the same: {figures.get('kubectl_apply_s')} s "
        f"(ratio agent/kubectl {figures.get('ratio_agent_to_kubectl')}, target <= 0.5)"
    )
    print(
        f"emulator peak: {figures['peak_creates_per_s']} creates/s (ratio agent/peak "
        f"{figures['ratio_agent_to_peak']}, target <= 1.5)"
    )
    print(f"no-change sync: {figures['no_change_sync_s']:.2f} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
