"""One replica as a process of its own, for the failover tests:

    python -m tests.support.ha_replica KUBECONFIG IDENTITY [--apps N] [--offset S]

It ticks and settles ``app-00`` … every renew period and prints its state as
one JSON line per round (identity, round, leader, owned apps); SIGTERM makes
it release its Leases and print ``{"stopped": true}``; SIGKILL leaves them.
:class:`Replicas` starts such processes and follows what they print.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from agent.cluster.kube import KubeCluster
from agent.ha import LeaseStore, Replica, Settings, SystemClock

NS = "gitops-agent"


def apps(count: int) -> list[str]:
    return [f"app-{i:02d}" for i in range(count)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ha_replica")
    parser.add_argument("kubeconfig")
    parser.add_argument("identity")
    parser.add_argument("--apps", type=int, default=24)
    parser.add_argument("--offset", type=float, default=0.0, help="this replica's wall clock offset, seconds")
    parser.add_argument("--lease", type=int, default=2)
    parser.add_argument("--renew", type=float, default=0.5)
    args = parser.parse_args(argv)
    client = KubeCluster.from_kubeconfig(args.kubeconfig)
    settings = Settings(NS, args.identity, args.lease, args.renew)
    replica = Replica(LeaseStore(client, NS), settings, SystemClock(args.offset))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    names = apps(args.apps)
    while not stop.is_set():
        replica.tick()
        owned = replica.settle(names)
        state = {"identity": args.identity, "round": replica.ticks, "leader": replica.is_leader()}
        print(json.dumps({**state, "owned": sorted(owned)}), flush=True)
        stop.wait(args.renew)
    replica.stop()
    print(json.dumps({"identity": args.identity, "stopped": True}), flush=True)
    client.close()
    return 0


class Replicas:
    """Replica processes over one kubeconfig, and the last state each printed."""

    def __init__(self, kubeconfig: Path, app_count: int, lease: int = 2, renew: float = 0.5) -> None:
        self.kubeconfig = kubeconfig
        self.app_count = app_count
        self.durations = ["--lease", str(lease), "--renew", str(renew)]
        self.procs: dict[str, subprocess.Popen[str]] = {}
        self.state: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def start(self, identity: str, offset: float = 0.0) -> None:
        command = [sys.executable, "-m", "tests.support.ha_replica", str(self.kubeconfig), identity]
        command += ["--apps", str(self.app_count), "--offset", str(offset), *self.durations]
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.procs[identity] = proc
        threading.Thread(target=self._follow, args=(identity, proc), daemon=True).start()

    def _follow(self, identity: str, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._lock:
                self.state[identity] = json.loads(line)

    def live(self) -> list[str]:
        return [i for i, p in self.procs.items() if p.poll() is None]

    def owned(self) -> dict[str, set[str]]:
        """What each running replica printed last."""
        with self._lock:
            return {i: set(self.state.get(i, {}).get("owned", ())) for i in self.live()}

    def leaders(self) -> list[str]:
        with self._lock:
            return [i for i in self.live() if self.state.get(i, {}).get("leader")]

    def signal(self, identity: str, sig: int) -> int:
        proc = self.procs[identity]
        proc.send_signal(sig)
        return proc.wait(timeout=60)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
