"""The fleet part of ``bench/ha.py``: the fleet benchmark's apps on 1, 2 and 3 replicas.

The workload is ``bench/fleet.py``'s (each app a Deployment scaled to zero,
a ServiceAccount, a Service and an Ingress, in a namespace of its own, all
following one path of one repository).  For each replica count, on a fresh
emulated cluster served over HTTPS in this process, that many ``gitops-agent
run`` processes (default 10 s lease, 2 s renew) start at once; the figures
are the time from the start until every app is Synced and Healthy (read
from the first replica's ``/api/v1/apps``, which shows each app as its
owner saw it), and each replica's peak memory (VmHWM) at that moment, with
their total.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from bench.fleet import GIT_ENV, SECRET, Served, _get, _proc_kib, free_port, make_repo


def write_config(  # noqa: PLR0917 - the bench's own helper
    folder: Path, repo: Path, apps: int, kubeconfig: Path, name: str, port: int
) -> Path:
    doc = {
        "cluster": {"kubeconfig": {"path": str(kubeconfig)}},
        "source": {"allowedSchemes": ["file"]},
        "stateDir": str(folder / f"state-{name}"),
        "daemon": {
            "port": port,
            "logLevel": "warning",
            "webhook": {"secrets": {"github": SECRET}, "queueSize": apps + 10, "debounceSeconds": 0},
            "ha": {"identity": name},
        },
        "apps": [
            {
                "name": f"app-{i:04d}",
                "repo": str(repo),
                "revision": "main",
                "path": "app",
                "namespace": f"ns-{i:04d}",
                "intervalSeconds": 3600,
                "syncPolicy": {"createNamespace": True},
            }
            for i in range(apps)
        ],
    }
    path = folder / f"agent-{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _all_synced(port: int, apps: int) -> bool:
    try:
        rows = _get(port, "/api/v1/apps")["apps"]
    except OSError:
        return False
    done = sum(1 for r in rows if r["syncStatus"] == "Synced" and r["health"] == "Healthy")
    return done == len(rows) == apps


def replicas(folder: Path, repo: Path, apps: int, count: int, timeout: float) -> dict[str, Any]:
    """``count`` replicas from start to every app synced: the time, and each one's peak memory."""
    folder.mkdir(parents=True)
    served = Served(folder)
    procs: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    logs = []
    start = time.perf_counter()
    try:
        for i in range(count):
            name, port = f"r{i}", free_port()
            config = write_config(folder, repo, apps, served.kubeconfig, name, port)
            logs.append((folder / f"{name}.log").open("wb"))
            cmd = [sys.executable, "-m", "agent", "run", "--config", str(config)]
            env = {**os.environ, **GIT_ENV}
            procs[name] = (subprocess.Popen(cmd, stdout=logs[-1], stderr=subprocess.STDOUT, env=env), port)
        first = procs["r0"][1]
        while not _all_synced(first, apps):
            for name, (proc, _) in procs.items():
                if proc.poll() is not None:
                    raise SystemExit(f"replica {name} exited ({proc.returncode}); see {folder}/{name}.log")
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"timed out: {count} replica(s), {apps} apps")
            time.sleep(0.5)
        took = round(time.perf_counter() - start, 2)
        peaks = {name: round(_proc_kib(proc.pid, "VmHWM") / 1024, 1) for name, (proc, _) in procs.items()}
        owned = {name: len([a for a in _owners(first).values() if a == name]) for name in procs}
    finally:
        for proc, _ in procs.values():
            proc.terminate()
        for proc, _ in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()
        served.close()
    return {
        "start_to_synced_s": took,
        "peak_mib": peaks,
        "total_peak_mib": round(sum(peaks.values()), 1),
        "apps_owned": owned,
    }


def _owners(port: int) -> dict[str, str]:
    return dict(_get(port, "/api/v1/apps")["replicas"]["owners"])


def fleet(folder: Path, apps: int, counts: list[int], timeout: float) -> dict[int, dict[str, Any]]:
    repo = make_repo(folder / "git", [])
    out = {}
    for n in counts:
        out[n] = replicas(folder / f"replicas-{n}", repo, apps, n, timeout)
        print(f"{apps} apps on {n} replica(s): {out[n]}", flush=True)
    return out


def table(apps: int, results: dict[int, dict[str, Any]]) -> None:
    print(f"\n| replicas | {apps} apps: start -> all synced | peak MiB, total | peak MiB each | apps each |")
    print("|---|---|---|---|---|")
    for n, r in results.items():
        each = ", ".join(f"{v}" for v in r["peak_mib"].values())
        owned = ", ".join(f"{v}" for v in r["apps_owned"].values())
        print(f"| {n} | {r['start_to_synced_s']} s | {r['total_peak_mib']} | {each} | {owned} |")
