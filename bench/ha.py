"""Benchmark: failover between replicas, and apps moved when one joins or leaves.

1. Three replica processes (``tests/support/ha_replica.py``: membership,
   leader election and per-app claims through Leases, with the default
   10 s lease and 2 s renew) share 60 apps on the emulated cluster served
   over HTTPS.  Each round SIGKILLs (then SIGTERMs) one replica and times
   until the survivors own every app it had; a new replica replaces it.
   Targets: after SIGKILL within 15 s, after SIGTERM within 3 s.
2. Rendezvous hashing of 1,000 app names: the share that moves when a
   fourth member joins three, and when one of four leaves (about 1/4).

3. With ``--daemons N`` (default 3): three ``gitops-agent run`` processes
   sharing 60 apps (:mod:`bench.ha_daemons`): from SIGKILL, and from
   SIGTERM, of the replica owning most apps until every app it owned has
   been reconciled by another (N rounds each; 0 skips it).
4. The fleet benchmark's apps (``bench/fleet.py``'s workload, ``--apps``,
   default 1,000) on 1, 2 and 3 replicas (``--replicas``,
   :mod:`bench.ha_fleet`): from the start until every app is Synced and
   Healthy, and each replica's peak memory with their total, as a table.

Run from the repository root: ``.venv/bin/python bench/ha.py [--kills 5] [--terms 5] [--daemons 3]
[--apps 1000] [--replicas 1,2,3] [--skip failover,fleet]``.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.emulator import EmulatedCluster, EmulatorServer
from agent.ha import assign, moved
from bench import ha_fleet
from bench.ha_daemons import Fleet
from bench.ha_daemons import failovers as daemon_failovers
from tests.support.ha_replica import Replicas, apps

APPS = apps(60)


def settled(group: Replicas) -> bool:
    owned = group.owned()
    return bool(owned) and {k: sorted(v) for k, v in owned.items()} == assign(APPS, dict.fromkeys(owned, 1.0))


def until(check: object, timeout: float = 120) -> float:
    started = time.monotonic()
    while not check():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            raise SystemExit("timed out")
        time.sleep(0.02)
    return time.monotonic() - started


def failovers(group: Replicas, sig: int, rounds: int, names: list[str]) -> list[float]:
    times = []
    for _ in range(rounds):
        until(lambda: settled(group))
        victim = sorted(group.live())[0]
        lost = group.owned()[victim]
        started = time.monotonic()
        group.signal(victim, sig)
        until(lambda lost=lost: lost <= set().union(*group.owned().values()))
        times.append(round(time.monotonic() - started, 2))
        what = signal.Signals(sig).name
        print(f"{what}: {victim}'s {len(lost)} apps taken over in {times[-1]} s", flush=True)
        names.append(f"r{len(names) + 1}")
        group.start(names[-1])
    return times


def summary(times: list[float]) -> dict[str, object]:
    return {"median": statistics.median(times), "max": max(times), "runs": times}


def hashing_moves() -> dict[str, float]:
    names = [f"team-{i}/app-{i}" for i in range(1000)]
    three = {f"replica-{n}": 1.0 for n in range(3)}
    four = {**three, "replica-3": 1.0}
    joined = len(moved(assign(names, three), assign(names, four))) / len(names)
    three_left = {k: 1.0 for k in four if k != "replica-0"}
    left = len(moved(assign(names, four), assign(names, three_left))) / len(names)
    return {"moved_on_join_3_to_4": round(joined, 3), "moved_on_leave_4_to_3": round(left, 3)}


def run_daemons(tmp: Path, kubeconfig: Path, rounds: int) -> dict[str, object]:
    fleet = Fleet(tmp, kubeconfig, 60)
    try:
        for _ in range(3):
            fleet.start()
        killed = daemon_failovers(fleet, signal.SIGKILL, rounds)
        stopped = daemon_failovers(fleet, signal.SIGTERM, rounds)
    finally:
        fleet.close()
    return {
        "daemon_sigkill_reconciled_seconds": summary(killed),
        "daemon_sigterm_reconciled_seconds": summary(stopped),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--terms", type=int, default=5)
    parser.add_argument("--daemons", type=int, default=3)
    parser.add_argument("--apps", type=int, default=1000, help="the fleet's apps on 1, 2 and 3 replicas")
    parser.add_argument("--replicas", default="1,2,3")
    parser.add_argument("--skip", default="", help="failover, fleet")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    figures: dict[str, object] = {}
    if "failover" not in skip:
        figures.update(failover(args))
    if "fleet" not in skip:
        with tempfile.TemporaryDirectory() as tmp:
            counts = [int(n) for n in args.replicas.split(",")]
            results = ha_fleet.fleet(Path(tmp), args.apps, counts, timeout=600)
        ha_fleet.table(args.apps, results)
        figures["fleet"] = {"apps": args.apps, **{f"replicas_{n}": r for n, r in results.items()}}
    print(json.dumps(figures))


def failover(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = EmulatedCluster(Path(tmp) / "cluster.db")
        server = EmulatorServer(engine, tls=True).start()
        kubeconfig = server.write_kubeconfig(Path(tmp) / "kubeconfig")
        daemons = run_daemons(Path(tmp), kubeconfig, args.daemons) if args.daemons else {}
        group = Replicas(kubeconfig, len(APPS), lease=10, renew=2.0)
        names = ["r1", "r2", "r3"]
        for name in names:
            group.start(name)
        try:
            killed = failovers(group, signal.SIGKILL, args.kills, names)
            stopped = failovers(group, signal.SIGTERM, args.terms, names)
        finally:
            group.close()
            server.stop()
            engine.close()
    return {
        "sigkill_failover_seconds": summary(killed),
        "sigterm_failover_seconds": summary(stopped),
        **hashing_moves(),
        **daemons,
    }


if __name__ == "__main__":
    main()
