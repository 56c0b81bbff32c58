"""The daemon part of ``bench/ha.py``: replicas of ``gitops-agent run`` sharing a fleet.

Three ``gitops-agent run`` processes (default 10 s lease, 2 s renew) share
60 one-ConfigMap apps from one repository served over smart HTTP, on the
emulated cluster served over HTTPS.  Each round SIGKILLs (or SIGTERMs) the
replica owning the most apps and times until every app it owned has been
reconciled by a survivor (a run counted in the survivors'
``gitops_agent_reconcile_total``), then starts a replacement.
"""

from __future__ import annotations

import functools
import signal
import time
from pathlib import Path
from typing import Any

import yaml

from agent.cluster.kube import KubeCluster
from tests.support.daemon import API_TOKEN, GH_SECRET, Daemon
from tests.support.git_servers import SmartHttp, Upstream
from tests.support.net import free_port

NS = "fleet"


class Fleet:
    def __init__(self, tmp: Path, kubeconfig: Path, apps: int) -> None:
        self.tmp = tmp
        self.kubeconfig = kubeconfig
        self.apps = [f"a{i:03d}" for i in range(apps)]
        root = tmp / "srv"
        root.mkdir()
        self.git = SmartHttp(root)
        self.upstream = Upstream(tmp, self.git)
        for app in self.apps:
            self.upstream.work.write(
                f"apps/{app}/cm.yaml",
                f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {app}, namespace: {NS}}}\n",
            )
        self.upstream.push("fleet")
        client = KubeCluster.from_kubeconfig(kubeconfig)
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        client.close()
        self.running: dict[str, Daemon] = {}
        self.count = 0

    def start(self) -> None:
        self.count += 1
        name, port = f"d{self.count}", free_port()
        doc: dict[str, Any] = {
            "cluster": {"kubeconfig": {"path": str(self.kubeconfig)}},
            "stateDir": f"state-{name}",
            "source": {"allowedSchemes": ["http"]},
            "daemon": {"port": port, "logFormat": "json", "ha": {"identity": name}},
            "apps": [
                {
                    "name": a,
                    "repo": self.upstream.url,
                    "path": f"apps/{a}",
                    "namespace": NS,
                    "intervalSeconds": 3600,
                }
                for a in self.apps
            ],
        }
        config = self.tmp / f"{name}.yaml"
        config.write_text(yaml.safe_dump(doc))
        d = Daemon(config, port, {"GH_SECRET": GH_SECRET, "API_TOKEN": API_TOKEN})
        d.wait_ready(120)
        self.running[name] = d

    def owners(self) -> dict[str, str] | None:
        """App -> owner once the replicas agree and the claims add up."""
        try:
            seen = [d.json("/api/v1/apps")["replicas"]["owners"] for d in self.running.values()]
            held = sum(d.metric("gitops_agent_shard_apps", replica=n) for n, d in self.running.items())
        except (OSError, AssertionError):
            return None
        if (
            any(s != seen[0] for s in seen)
            or held != len(self.apps)
            or set(seen[0].values()) != set(self.running)
        ):
            return None
        return dict(seen[0])

    def runs(self, names: list[str]) -> dict[str, float]:
        out = dict.fromkeys(self.apps, 0.0)
        for n in names:
            for labels, value in self.running[n].samples("gitops_agent_reconcile_total"):
                out[labels["app"]] += value
        return out

    def close(self) -> None:
        for d in self.running.values():
            d.stop()
        self.git.stop()


def until(check: Any, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise SystemExit("timed out")


def taken_over(fleet: Fleet, survivors: list[str], lost: list[str], before: dict[str, float]) -> bool:
    now = fleet.runs(survivors)
    return all(now[a] > before[a] for a in lost)


def failovers(fleet: Fleet, sig: int, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        owner = until(fleet.owners)
        victim = max(fleet.running, key=lambda n: sum(1 for o in owner.values() if o == n))
        lost = [a for a, o in owner.items() if o == victim]
        survivors = [n for n in fleet.running if n != victim]
        before = fleet.runs(survivors)
        started = time.monotonic()
        d = fleet.running.pop(victim)
        d.proc.send_signal(sig)
        until(functools.partial(taken_over, fleet, survivors, lost, before))
        times.append(round(time.monotonic() - started, 2))
        d.proc.wait()
        d.stop()
        print(
            f"{signal.Signals(sig).name}: {victim}'s {len(lost)} apps reconciled elsewhere in {times[-1]} s",
            flush=True,
        )
        fleet.start()
    return times
