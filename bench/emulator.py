"""Benchmark of the emulated cluster: in process and over HTTP.

Prints its figures as one JSON object on its last line:
  inprocess_creates_per_s, inprocess_gets_per_s, list_10k_by_label_s,
  list_10_of_100_ms and list_10_of_100000_ms (a list by label of 10 objects
  among 100 and among 100,000 of their kind: about the same, the label
  index reads only the 10), page_500_of_100000_ms (a page from the middle),
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
import statistics
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


def few_of_many(folder: Path, big: int) -> dict[str, float]:
    """A list by label of 10 objects among ``big`` of their kind, against 10 among 100
    (the median of 20 lists each), and a 500-object page from the middle of ``big``."""
    figures: dict[str, float] = {}
    for total in (100, big):
        cluster = EmulatedCluster(folder / f"few-of-{total}.db")
        cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
        for i in range(total):
            cluster.create(configmap(f"c{i:06d}", team="needle" if i % (total // 10) == 0 else "hay"))
        times = []
        for _ in range(20):
            start = time.perf_counter()
            found = cluster.list("v1", "ConfigMap", "", "team=needle")
            times.append(time.perf_counter() - start)
            assert len(found) == 10, len(found)
        figures[f"list_10_of_{total}_ms"] = round(statistics.median(times) * 1000, 2)
        if total == big:
            rt = cluster.resource_type("v1", "ConfigMap")
            token = cluster.registry.list_page(rt, "bench", limit=total // 2).continue_token
            start = time.perf_counter()
            page = cluster.registry.list_page(rt, "bench", limit=500, continue_token=token)
            figures[f"page_500_of_{total}_ms"] = round((time.perf_counter() - start) * 1000, 2)
            assert len(page.items) == 500
        cluster.close()
    figures["ratio_10_of_big_to_10_of_100"] = round(
        figures[f"list_10_of_{big}_ms"] / figures["list_10_of_100_ms"], 2
    )
    return figures


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
    parser.add_argument("--big", type=int, default=100_000, help="objects of the kind a few are listed from")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        figures = in_process(folder, args.creates, args.gets)
        figures |= few_of_many(folder, args.big)
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
