"""Benchmark of the emulated cluster: in process and over HTTP.

Prints its figures as one JSON object on its last line:
  inprocess_creates_per_s, inprocess_gets_per_s, list_10k_by_label_s,
  http_creates_per_s (plain keep-alive HTTP client), client_creates_per_s
  (the official kubernetes client), against ``gitops-agent emulator serve``
  started as a separate process on 127.0.0.1.

    python bench/emulator.py [--creates N] [--gets N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.emulator import EmulatedCluster
from tests.support import emulator
from tests.support.waits import wait_for_kubeconfig


def configmap(name: str, ns: str = "bench", team: str = "a") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": {"team": team, "app": "bench"}},
        "data": {"key": "value", "other": "x" * 64},
    }


def in_process(folder: Path, creates: int, gets: int) -> dict[str, float]:
    cluster = EmulatedCluster(folder / "inprocess.db")
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
    start = time.perf_counter()
    for i in range(creates):
        cluster.create(configmap(f"c{i}", team="a" if i % 2 else "b"))
    create_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(gets):
        cluster.get("v1", "ConfigMap", f"c{i % creates}", "bench")
    get_s = time.perf_counter() - start
    for i in range(creates, 10_000):
        cluster.create(configmap(f"c{i}", team="a" if i % 2 else "b"))
    start = time.perf_counter()
    found = cluster.list("v1", "ConfigMap", "bench", "team=a")
    list_s = time.perf_counter() - start
    assert len(found) == 5_000, len(found)
    cluster.close()
    return {
        "inprocess_creates_per_s": round(creates / create_s),
        "inprocess_gets_per_s": round(gets / get_s),
        "list_10k_by_label_s": round(list_s, 3),
    }


def serve(folder: Path) -> tuple[subprocess.Popen[bytes], Path]:
    kubeconfig = folder / "kubeconfig"
    proc = emulator.serve(folder / "served.db", kubeconfig, "--no-tls")  # the plain-HTTP figure
    wait_for_kubeconfig(kubeconfig, proc)
    time.sleep(0.2)
    return proc, kubeconfig


def over_http(kubeconfig: Path, creates: int) -> dict[str, float]:
    doc = yaml.safe_load(kubeconfig.read_text())
    server = doc["clusters"][0]["cluster"]["server"].removeprefix("http://")
    token = doc["users"][0]["user"]["token"]
    host, port = server.split(":")
    conn = http.client.HTTPConnection(host, int(port))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
    conn.request("POST", "/api/v1/namespaces", body, headers)
    conn.getresponse().read()
    start = time.perf_counter()
    for i in range(creates):
        conn.request("POST", "/api/v1/namespaces/bench/configmaps", json.dumps(configmap(f"h{i}")), headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 201, response.status
    http_s = time.perf_counter() - start
    conn.close()
    core = k8s.CoreV1Api(k8s_config.new_client_from_config(config_file=str(kubeconfig)))
    start = time.perf_counter()
    for i in range(creates):
        core.create_namespaced_config_map("bench", configmap(f"k{i}"))
    client_s = time.perf_counter() - start
    core.api_client.close()
    return {"http_creates_per_s": round(creates / http_s), "client_creates_per_s": round(creates / client_s)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=3000)
    parser.add_argument("--gets", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        figures = in_process(folder, args.creates, args.gets)
        proc, kubeconfig = serve(folder)
        try:
            figures |= over_http(kubeconfig, min(args.creates, 2000))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    figures["cpu_count"] = os.cpu_count() or 0
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
