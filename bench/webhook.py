"""Benchmark: from a signed GitHub webhook to the cluster converged, and idle memory.

1. ``gitops-agent run`` (a subprocess) follows a 10-object app served by a
   smart-HTTP git server on loopback.  Each round pushes a change to every
   object, sends the webhook, and polls the emulated cluster's SQLite file
   until all objects carry the new value.  Reports median and p90.
2. The same daemon with 100 apps configured: resident memory (RSS) once every
   app has been reconciled and the daemon is idle.

Run from the repository root: ``.venv/bin/python bench/webhook.py [ROUNDS]``.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.emulator import EmulatedCluster
from tests.support.daemon import Daemon, configmaps_app, github_headers, github_push
from tests.support.git_servers import SmartHttp, Upstream
from tests.support.net import free_port
from tests.support.waits import wait_for

SECRET = "bench-webhook-secret"  # noqa: S105 (a throwaway secret for loopback)


def config(tmp: Path, url: str, apps: int) -> tuple[Path, int]:
    port = free_port()
    doc = {
        "cluster": {"emulated": {"path": "cluster.db"}},
        "source": {"allowedSchemes": ["http"]},  # the git server on loopback speaks plain HTTP
        "stateDir": "state",
        "daemon": {"port": port, "webhook": {"secrets": {"github": "${GH_SECRET}"}}, "logLevel": "warning"},
        "apps": [
            {
                "name": "web" if apps == 1 else f"app-{i}",
                "repo": url,
                "revision": "main",
                "path": "app" if apps == 1 else "shared",
                "namespace": "web" if apps == 1 else f"ns-{i}",
                "intervalSeconds": 3600,
                "syncPolicy": {"createNamespace": apps > 1},
            }
            for i in range(apps)
        ],
    }
    path = tmp / "agent.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path, port


def converged(cluster: EmulatedCluster, value: str) -> bool:
    items = cluster.list("v1", "ConfigMap", "web")
    return len(items) == 9 and all(o["data"]["value"] == value for o in items)


def latency(rounds: int) -> list[float]:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        (tmp / "srv").mkdir()
        server = SmartHttp(tmp / "srv")
        up = Upstream(tmp, server)
        configmaps_app(up.work, 10, "v0")
        up.push("v0")
        path, port = config(tmp, up.url, 1)
        d = Daemon(path, port, {"GH_SECRET": SECRET})
        cluster = EmulatedCluster(tmp / "cluster.db")
        samples = []
        try:
            d.wait_ready()
            wait_for(lambda: converged(cluster, "v0"), 60, "the first sync")
            body = github_push(up.url)
            headers = github_headers(SECRET, body)
            for n in range(1, rounds + 1):
                value = f"v{n}"
                configmaps_app(up.work, 10, value)
                up.push(value)
                started = time.monotonic()
                status, _ = d.post("/webhooks/github", body, headers)
                assert status == 202, status
                while not converged(cluster, value):
                    time.sleep(0.005)
                samples.append(time.monotonic() - started)
                time.sleep(0.3)  # let the follow-up observation finish: rounds stay independent
        finally:
            cluster.close()
            d.stop()
            server.stop()
        return samples


def idle_rss(apps: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        (tmp / "srv").mkdir()
        server = SmartHttp(tmp / "srv")
        up = Upstream(tmp, server)
        for i in range(3):  # objects without a namespace: each app puts them in its own
            up.work.write(
                f"shared/cm-{i}.yaml",
                f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\ndata: {{a: '1'}}\n",
            )
        up.push("x")
        path, port = config(tmp, up.url, apps)
        d = Daemon(path, port, {"GH_SECRET": SECRET})
        try:
            d.wait_ready()
            started = time.monotonic()

            def all_done() -> bool:
                return all(a["lastResult"] is not None for a in d.json("/api/v1/apps")["apps"])

            wait_for(all_done, 600, "every app's first reconcile")
            first_pass = time.monotonic() - started
            time.sleep(3)
            status = Path(f"/proc/{d.proc.pid}/status").read_text()
            rss_kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        finally:
            d.stop()
            server.stop()
        return rss_kib / 1024, first_pass


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    samples = latency(rounds)
    rss, first_pass = idle_rss(100)
    ordered = sorted(samples)
    result = {
        "benchmark": "webhook",
        "rounds": rounds,
        "objects": 10,
        "webhook_to_converged_median_s": round(statistics.median(samples), 3),
        "webhook_to_converged_p90_s": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
        "webhook_to_converged_max_s": round(ordered[-1], 3),
        "debounce_s": 0.2,
        "apps_for_rss": 100,
        "idle_rss_mib": round(rss, 1),
        "first_reconcile_of_100_apps_s": round(first_pass, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
