"""Benchmark a fleet: many small apps on one cluster, side by side in one run.

The workload is the Flux benchmark's: each app is a Deployment scaled to
zero, a ServiceAccount, a Service and an Ingress, in a namespace of its own
(the agent creates it).  All apps follow one path of one git repository, as
Flux's benchmark points every Kustomization at one source.  For each fleet
size (100, 500 and 1,000 apps; ``--with-5000`` adds 5,000) it measures, each
on a fresh emulated cluster served over HTTPS in this process (so the
cluster's CPU is this process's CPU, and its request counter is at hand):

- ``kubectl apply --server-side`` of the same objects (the namespaces and
  every app's four objects, one file);
- the one-shot ``gitops-agent sync`` of all apps (the whole command);
- the daemon with the same apps declared by one AppSet (a ``gitDirectories``
  generator over a monorepo's folder per app) instead of listed, from start
  to every app Synced and Healthy, beside the listed fleet's figures;
- the daemon (``gitops-agent run``): start -> every app Synced and Healthy,
  when a quarter, half and three quarters of the apps were (steadily, not all
  at the end), its peak and idle memory (VmHWM, VmRSS), the requests it sent
  per app; then
  a no-change poll round of the whole fleet (a push webhook for the
  repository asks for every app at once; the round ends when every app has
  a new result), with its time and the requests it cost by verb; the first
  round after the start renders each app again (a render is kept per
  commit, configuration and first install, and the first sync was one), so a
  second, steady-state round follows.

For each run: wall time, the emulated cluster's CPU seconds, requests by
verb.  Then how each figure grows from 500 to 1,000 apps.  The last line is
one JSON object with every figure.

    .venv/bin/python bench/fleet.py [--apps 100,500,1000] [--with-5000]
        [--skip kubectl,oneshot,daemon,generated] [--concurrency N]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from agent.emulator import EmulatedCluster, EmulatorServer, Options

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "b@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "b@example.invalid",
}
SECRET = "fleet-bench-webhook"  # noqa: S105 (a throwaway secret for loopback)


def app_objects(namespace: str | None = None) -> list[dict[str, Any]]:
    """One app of the Flux benchmark (``namespace``: None as in Git, where the app's namespace applies)."""
    meta: dict[str, Any] = {"name": "podinfo", "labels": {"app.kubernetes.io/name": "podinfo"}}
    if namespace:
        meta["namespace"] = namespace
    selector = {"app.kubernetes.io/name": "podinfo"}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": dict(meta)},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": dict(meta),
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": selector},
                    "spec": {
                        "serviceAccountName": "podinfo",
                        "containers": [
                            {
                                "name": "podinfo",
                                "image": "ghcr.io/stefanprodan/podinfo:6.7.0",
                                "ports": [{"name": "http", "containerPort": 9898}],
                                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                            }
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": dict(meta),
            "spec": {"selector": selector, "ports": [{"name": "http", "port": 9898, "targetPort": "http"}]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": dict(meta),
            "spec": {
                "rules": [
                    {
                        "host": "podinfo.example.invalid",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "podinfo", "port": {"name": "http"}}},
                                }
                            ]
                        },
                    }
                ]
            },
        },
    ]


def make_repo(folder: Path, sizes: list[int]) -> Path:
    """``app/``: the app every listed app follows; ``fleet-N/app-XXXX/``: a
    monorepo's folder per app, for the generator's fleet of N apps."""
    repo = folder / "repo"
    (repo / "app").mkdir(parents=True)
    text = yaml.safe_dump_all(app_objects())
    (repo / "app" / "podinfo.yaml").write_text(text)
    for n in sizes:
        for i in range(n):
            (repo / f"fleet-{n}" / f"app-{i:04d}").mkdir(parents=True)
            (repo / f"fleet-{n}" / f"app-{i:04d}" / "podinfo.yaml").write_text(text)
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "podinfo"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def app_set(repo: Path, apps: int) -> dict[str, Any]:
    """One AppSet whose gitDirectories generator declares the fleet: an app per folder."""
    template = {
        "metadata": {"name": "{{ path.basename }}"},
        "spec": {
            "repo": str(repo),
            "revision": "main",
            "path": "{{ path.path }}",
            "namespace": "ns-{{ path.basename }}",
            "intervalSeconds": 3600,
            "syncPolicy": {"createNamespace": True},
        },
    }
    generator = {
        "gitDirectories": {"repo": str(repo), "revision": "main", "directories": [f"fleet-{apps}/*"]}
    }
    return {"name": "fleet", "spec": {"generators": [generator], "template": template}}


def write_config(  # noqa: PLR0917 - the bench's own helper
    folder: Path,
    repo: Path,
    apps: int,
    kubeconfig: Path,
    port: int,
    concurrency: int,
    generated: bool = False,
) -> Path:
    daemon: dict[str, Any] = {
        "port": port,
        "logLevel": "warning",
        "webhook": {"secrets": {"github": SECRET}, "queueSize": apps + 10, "debounceSeconds": 0},
    }
    if concurrency:
        daemon["concurrency"] = concurrency
    doc = {
        "cluster": {"kubeconfig": {"path": str(kubeconfig)}},
        "source": {"allowedSchemes": ["file"]},
        "stateDir": str(folder / "state"),
        "daemon": daemon,
        "apps": [
            {
                "name": f"app-{i:04d}",
                "repo": str(repo),
                "revision": "main",
                "path": "app",
                "namespace": f"ns-{i:04d}",
                "intervalSeconds": 3600,  # rounds come from the webhook, not the timer
                "syncPolicy": {"createNamespace": True},
            }
            for i in range(apps)
        ],
    }
    if generated:  # the same apps, declared by one generator over the monorepo's folders
        doc["apps"], doc["appSets"] = [], [app_set(repo, apps)]
    path = folder / "agent.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


class Served:
    """A fresh emulated cluster over HTTPS in this process: its CPU is ours, its counter at hand."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.engine = EmulatedCluster(folder / "cluster.db", Options())
        self.server = EmulatorServer(self.engine, tls=True).start()
        self.kubeconfig = self.server.write_kubeconfig(folder / "kubeconfig")
        self._cpu = 0.0

    def mark(self) -> None:
        self._cpu = time.process_time()
        self.engine.requests.clear()

    def since_mark(self) -> dict[str, Any]:
        return {
            "cluster_cpu_s": round(time.process_time() - self._cpu, 2),
            "requests": dict(sorted(Counter(self.engine.requests).items())),
        }

    def close(self) -> None:
        self.server.stop()
        self.engine.close()


def kubectl_apply(folder: Path, apps: int) -> dict[str, Any]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return {"error": "kubectl not installed"}
    served = Served(folder / "kubectl")
    docs: list[dict[str, Any]] = []
    for i in range(apps):
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns-{i:04d}"}})
    for i in range(apps):
        docs.extend(app_objects(f"ns-{i:04d}"))
    manifest = folder / "kubectl.yaml"
    manifest.write_text(yaml.safe_dump_all(docs))
    env = {**os.environ, "KUBECONFIG": str(served.kubeconfig)}
    try:
        served.mark()
        start = time.perf_counter()
        done = subprocess.run(
            [kubectl, "apply", "--server-side", "-f", str(manifest)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        took = time.perf_counter() - start
        out = {"wall_s": round(took, 2), **served.since_mark()}
    finally:
        served.close()
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip()[-300:]}
    return out


def one_shot(folder: Path, repo: Path, apps: int, concurrency: int) -> dict[str, Any]:
    served = Served(folder / "oneshot")
    config = write_config(folder / "oneshot", repo, apps, served.kubeconfig, 0, concurrency)
    cmd = [sys.executable, "-m", "agent", "sync", "-c", str(config), "-o", "json"]
    try:
        served.mark()
        start, children = time.perf_counter(), _children_cpu()
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, env={**os.environ, **GIT_ENV})
        took = time.perf_counter() - start
        out = {"wall_s": round(took, 2), "agent_cpu_s": round(_children_cpu() - children, 2)}
        out.update(served.since_mark())
        served.mark()
        start = time.perf_counter()
        again = subprocess.run(
            cmd, check=False, capture_output=True, text=True, env={**os.environ, **GIT_ENV}
        )
        out["no_change_wall_s"] = round(time.perf_counter() - start, 2)
        out["no_change"] = served.since_mark()
    finally:
        served.close()
    if done.returncode != 0 or again.returncode != 0:
        return {"error": f"exit {done.returncode}/{again.returncode}: {(done.stderr or again.stderr)[-500:]}"}
    reports = json.loads(done.stdout)["apps"]
    out["apps_ok"] = sum(1 for r in reports if r.get("ok", not r.get("failure")))
    return out


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as r:
        return json.loads(r.read())


def _proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _proc_cpu(pid: int) -> float:
    """User and system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait(predicate: Any, timeout: float, what: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the daemon exited ({proc.returncode}) waiting for {what}")
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def _synced(port: int, start: float, marks: dict[int, float], apps: int) -> bool:
    """All ``apps`` served, Synced and Healthy; ``marks``: when a quarter,
    half, three quarters had become so."""
    rows = _get(port, "/api/v1/apps")["apps"]
    done = sum(1 for r in rows if r["syncStatus"] == "Synced" and r["health"] == "Healthy")
    for share in (25, 50, 75, 100):
        if done * 100 >= share * apps and share not in marks:
            marks[share] = round(time.perf_counter() - start, 1)
    return done == len(rows) == apps


def daemon(  # noqa: PLR0917 - the bench's own helper
    folder: Path, repo: Path, apps: int, concurrency: int, timeout: float, generated: bool = False
) -> dict[str, Any]:
    """The daemon from start to every app synced; ``generated``: the apps
    declared by one AppSet over the monorepo's folders, not listed."""
    folder = folder / ("generated" if generated else "daemon")
    served = Served(folder)
    port = free_port()
    config = write_config(folder, repo, apps, served.kubeconfig, port, concurrency, generated)
    log = (folder / "daemon.log").open("wb")
    served.mark()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **GIT_ENV},
    )
    out: dict[str, Any] = {}
    try:
        marks: dict[int, float] = {}
        _wait(lambda: _synced(port, start, marks, apps), timeout, "every app Synced and Healthy", proc)
        out["start_to_synced_s"] = round(time.perf_counter() - start, 2)
        out["agent_cpu_s"] = round(_proc_cpu(proc.pid), 2)
        out["synced_share_at_s"] = marks  # apps become synced steadily, not all at the end
        out.update(served.since_mark())
        out["requests_per_app"] = round(sum(out["requests"].values()) / apps, 1)
        out["peak_mib"] = round(_proc_kib(proc.pid, "VmHWM") / 1024, 1)
        time.sleep(3)
        out["idle_mib"] = round(_proc_kib(proc.pid, "VmRSS") / 1024, 1)
        out["round"] = poll_round(
            port, repo, served, proc, timeout
        )  # renders anew: no longer a first install
        out["steady_round"] = poll_round(port, repo, served, proc, timeout)  # nothing to render either
        out["peak_mib"] = round(_proc_kib(proc.pid, "VmHWM") / 1024, 1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        served.close()
    return out


def poll_round(
    port: int, repo: Path, served: Served, proc: subprocess.Popen[bytes], timeout: float
) -> dict[str, Any]:
    """Every app asked at once (a push webhook for the repository), nothing changed."""
    time.sleep(1.1)  # results are stamped to the second: a new one must differ from the last
    before = {r["name"]: (r["lastResult"] or {}).get("finished") for r in _get(port, "/api/v1/apps")["apps"]}
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "after": "0" * 40,
            "repository": {"clone_url": str(repo), "html_url": str(repo), "default_branch": "main"},
        }
    ).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-Hub-Signature-256": signature}
    served.mark()
    start = time.perf_counter()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/github", body, headers, method="POST")
    with urllib.request.urlopen(request, timeout=60) as r:  # noqa: S310 (loopback)
        assert r.status == 202, r.status

    def all_ran() -> bool:
        rows = _get(port, "/api/v1/apps")["apps"]
        return all((r["lastResult"] or {}).get("finished") != before[r["name"]] for r in rows)

    cpu = _proc_cpu(proc.pid)
    _wait(all_ran, timeout, "a poll round of every app", proc)
    took = time.perf_counter() - start
    figures = served.since_mark()
    outcomes = Counter(r["lastResult"]["outcome"] for r in _get(port, "/api/v1/apps")["apps"])
    agent_cpu = round(_proc_cpu(proc.pid) - cpu, 2)
    return {"wall_s": round(took, 2), "agent_cpu_s": agent_cpu, **figures, "outcomes": dict(outcomes)}


def growth(results: dict[int, dict[str, Any]]) -> dict[str, float]:
    """How each figure grows from 500 to 1,000 apps."""
    if 500 not in results or 1000 not in results:
        return {}
    a, b = results[500], results[1000]
    pairs = {
        "kubectl_wall": ("kubectl", "wall_s"),
        "oneshot_wall": ("oneshot", "wall_s"),
        "oneshot_cluster_cpu": ("oneshot", "cluster_cpu_s"),
        "daemon_start_to_synced": ("daemon", "start_to_synced_s"),
        "daemon_cluster_cpu": ("daemon", "cluster_cpu_s"),
        "daemon_peak_mib": ("daemon", "peak_mib"),
    }
    out = {}
    for name, (part, field) in pairs.items():
        x, y = (a.get(part) or {}).get(field), (b.get(part) or {}).get(field)
        if x and y:
            out[name] = round(y / x, 2)
    for name in ("round", "steady_round"):
        ra, rb = (a.get("daemon") or {}).get(name), (b.get("daemon") or {}).get(name)
        if ra and rb:
            out[f"poll_{name}_wall"] = round(rb["wall_s"] / ra["wall_s"], 2)
    return out


def table(results: dict[int, dict[str, Any]]) -> None:
    print(
        "| apps | daemon start -> synced | peak / idle MiB | req/app | steady poll round (s, requests) "
        "| one-shot sync | kubectl apply --server-side | cluster CPU daemon / one-shot / kubectl |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n, r in sorted(results.items()):
        d, o, k = r.get("daemon") or {}, r.get("oneshot") or {}, r.get("kubectl") or {}
        rnd = d.get("steady_round") or {}
        cpu = " / ".join(str(x.get("cluster_cpu_s", "-")) for x in (d, o, k))
        memory = f"{d.get('peak_mib', '-')} / {d.get('idle_mib', '-')}"
        print(
            f"| {n} | {d.get('start_to_synced_s', '-')} s | {memory} "
            f"| {d.get('requests_per_app', '-')} | {rnd.get('wall_s', '-')} s, {rnd.get('requests', '-')} "
            f"| {o.get('wall_s', '-')} s | {k.get('wall_s', '-')} s | {cpu} |"
        )


TARGET_SYNCED_S, TARGET_PEAK_MIB, TARGET_GENERATOR_COST = 30.0, 150.0, 1.10
# Flux's published figure for this workload: Flux 2.9 on a 16-core runner with a kind cluster
FLUX = "Flux 2.9 (its own benchmark: 16-core runner, kind): 1,000 apps in 4 min 13 s, 223 MiB"


def generator_cost(results: dict[int, dict[str, Any]]) -> None:
    """The same fleet listed in agent.yaml and declared by one generator, side by side."""
    print("\n| apps | listed: start -> synced, peak MiB | one generator: start -> synced, peak MiB | ratio |")
    print("|---|---|---|---|")
    for n, r in sorted(results.items()):
        listed, generated = r.get("daemon") or {}, r.get("generated") or {}
        a, b = listed.get("start_to_synced_s"), generated.get("start_to_synced_s")
        ratio = f"x{b / a:.2f}" if a and b else "-"
        left = f"{a or '-'} s, {listed.get('peak_mib', '-')}"
        right = f"{b or '-'} s, {generated.get('peak_mib', '-')}"
        print(f"| {n} | {left} | {right} | {ratio} |")
    big = results.get(1000) or {}
    for part in ("daemon", "generated"):
        d = big.get(part) or {}
        if d.get("start_to_synced_s"):
            met = d["start_to_synced_s"] < TARGET_SYNCED_S and d.get("peak_mib", 1e9) < TARGET_PEAK_MIB
            target = f"(< {TARGET_SYNCED_S:.0f} s, < {TARGET_PEAK_MIB:.0f} MiB)"
            print(
                f"1,000 apps ({part}): {d['start_to_synced_s']} s, {d.get('peak_mib')} MiB peak: "
                f"target {target} {'met' if met else 'NOT met'}"
            )
    print(f"{FLUX}; this machine and setup differ (an emulated cluster over HTTPS, 2 cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", default="100,500,1000", help="fleet sizes, comma-separated")
    parser.add_argument("--with-5000", action="store_true", help="add a fleet of 5,000 apps")
    parser.add_argument("--skip", default="", help="parts to leave out: kubectl,oneshot,daemon,generated")
    parser.add_argument("--concurrency", type=int, default=0, help="the daemon's (default: its own)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for a daemon phase")
    args = parser.parse_args()
    sizes = [int(s) for s in args.apps.split(",") if s]
    if args.with_5000 and 5000 not in sizes:
        sizes.append(5000)
    skip = set(args.skip.split(","))
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        root = Path(tmp)
        repo = make_repo(root, sizes if "generated" not in skip else [])
        for n in sizes:
            folder = root / f"n{n}"
            r: dict[str, Any] = results.setdefault(n, {})
            if "kubectl" not in skip:
                r["kubectl"] = kubectl_apply(folder, n)
                print(f"{n} apps: kubectl {r['kubectl']}", flush=True)
            if "oneshot" not in skip:
                r["oneshot"] = one_shot(folder, repo, n, args.concurrency)
                print(f"{n} apps: one-shot {r['oneshot']}", flush=True)
            if "daemon" not in skip:
                r["daemon"] = daemon(folder, repo, n, args.concurrency, args.timeout)
                print(f"{n} apps: daemon {r['daemon']}", flush=True)
            if "generated" not in skip:
                r["generated"] = daemon(folder, repo, n, args.concurrency, args.timeout, generated=True)
                print(f"{n} apps: daemon, apps from a generator {r['generated']}", flush=True)
    table(results)
    generator_cost(results)
    grown = growth(results)
    if grown:
        print("growth 500 -> 1,000 apps:", ", ".join(f"{k} x{v}" for k, v in grown.items()))
    print(json.dumps({"benchmark": "fleet", "results": results, "growth_500_to_1000": grown}))


if __name__ == "__main__":
    main()
