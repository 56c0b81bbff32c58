"""What the status API and page show of each app, from the daemon's state.

Made from :class:`~agent.daemon.protocol.DaemonView` snapshots only: no Git
or cluster work per request, and no reach into the service that owns them.
"""

from __future__ import annotations

from typing import Any

from agent import __version__
from agent.daemon.protocol import DaemonView
from agent.daemon.state import GATED, AppSnapshot, Outcome, RunResult
from agent.redact import mask_url
from agent.report.templates import render


def app_summary(d: DaemonView, name: str, snap: AppSnapshot, *, detail: bool) -> dict[str, Any]:
    app = d.config.app(name)
    obs, last = snap.observation, snap.last_run
    policy = app.sync_policy
    failed = last is not None and last.outcome in (Outcome.FAILED, *GATED)  # its message says why
    out: dict[str, Any] = {
        "name": name,
        "cluster": app.cluster,
        "repo": mask_url(app.repo),
        "targetRevision": app.revision,
        "path": app.path,
        "namespace": app.namespace,
        "syncPolicy": {"automated": policy.automated, "selfHeal": policy.self_heal, "prune": policy.prune},
        "syncStatus": str(obs.sync_status) if obs else "Unknown",
        "health": str(obs.health) if obs else "Unknown",
        "revision": obs.revision.__dict__ if obs and obs.revision else None,
        "observedAt": obs.at if obs else "",
        # this process's last sync, or a later one the records show (the CLI's, another replica's)
        "lastSync": max(snap.last_sync, obs.last_synced if obs else ""),
        "held": obs.held if obs else None,
        "message": (last.message if last and failed else "") or (obs.message if obs else ""),
        "drifted": obs.drifted if obs else 0,
        "suspended": last is not None and last.outcome == Outcome.SUSPENDED,
        "running": snap.running,
        "queued": snap.queued,
        "failures": snap.failures,
        "nextRun": d.next_run(name),
        "lastResult": None if last is None else _short_run(last),
        "unhealthy": [r.to_dict() for r in obs.resources if r.health != "Healthy"] if obs else [],
    }
    if detail:
        out["drift"] = obs.to_dict()["drift"] if obs else None
        out["resources"] = [r.to_dict() for r in obs.resources] if obs else []
        out["objects"] = [o.to_dict() for o in obs.objects] if obs else []  # sync status, last change
        out["lastResult"] = None if last is None else last.to_dict()
        out["links"] = {
            "drift": f"/api/v1/apps/{name}/drift",
            "history": f"/api/v1/apps/{name}/history",
        }
    return out


def all_apps(d: DaemonView) -> list[dict[str, Any]]:
    """The short summary of every configured app, in configuration order."""
    rows = []
    replicas = d.fleet_status().get("replicas")  # when replicas share the apps: each one's owner
    for a in d.config.apps:
        snap = d.snapshot(a.name)
        if snap is not None:
            rows.append(app_summary(d, a.name, snap, detail=False))
            if replicas is not None:
                rows[-1]["owner"] = replicas["owners"].get(a.name)
    return rows


def _short_run(last: RunResult) -> dict[str, Any]:
    """The run as :meth:`RunResult.to_dict` gives it, with its sync's summary
    and record instead of the whole sync (not built: one per app per request)."""
    sync = last.sync
    return {
        "trigger": str(last.trigger),
        "started": last.started,
        "finished": last.finished,
        "durationSeconds": round(last.duration, 3),
        "outcome": str(last.outcome),
        "message": last.message,
        "summary": sync.changeset.summary() if sync is not None else {},
        "record": sync.record if sync is not None else None,
    }


def by_cluster(d: DaemonView, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows grouped by cluster, in the configuration's order of the
    clusters: each group its cluster's ``name``, ``labels`` and ``apps``."""
    labels = {c.name: c.labels for c in d.config.all_clusters()}
    order = list(labels)
    apps: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        apps.setdefault(r["cluster"], []).append(r)
    names = sorted(apps, key=lambda n: order.index(n) if n in order else len(order))
    return [{"name": n, "labels": labels.get(n, {}), "apps": apps[n]} for n in names]


def page(d: DaemonView) -> str:
    rows = all_apps(d)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["syncStatus"]] = counts.get(r["syncStatus"], 0) + 1
    groups = by_cluster(d, rows)
    return render(
        "status.html.j2",
        apps=rows,
        groups=groups,
        # one heading per cluster once there is more than ``cluster:`` to tell apart
        headed=len(groups) > 1 or any(g["name"] != d.config.cluster.name for g in groups),
        counts=counts,
        ready=d.is_ready(),
        problems=d.fleet_status()["problems"],
        removed=d.fleet_status()["removed"],
        replicas=d.fleet_status().get("replicas"),
        started=d.started,
        version=__version__,
    )
