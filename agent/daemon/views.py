"""What the status API and page show of each app, from the daemon's state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agent import __version__
from agent.redact import mask_url
from agent.report.templates import render
from agent.sync.record import RevisionRecord

if TYPE_CHECKING:
    from agent.daemon.service import Daemon


def app_summary(d: Daemon, name: str, *, detail: bool) -> dict[str, Any]:
    app = d.config.app(name)
    state = d.scheduler.states[name]
    with state.lock:
        obs, last, running, pending = state.observation, state.last_run, state.running, state.pending
        failures, last_sync = state.failures, state.last_sync
    policy = app.sync_policy
    out: dict[str, Any] = {
        "name": name,
        "repo": mask_url(app.repo),
        "targetRevision": app.revision,
        "path": app.path,
        "namespace": app.namespace,
        "syncPolicy": {"automated": policy.automated, "selfHeal": policy.self_heal, "prune": policy.prune},
        "syncStatus": str(obs.sync_status) if obs else "Unknown",
        "health": str(obs.health) if obs else "Unknown",
        "revision": obs.revision.__dict__ if obs and obs.revision else None,
        "observedAt": obs.at if obs else "",
        "lastSync": last_sync,
        "held": obs.held if obs else None,
        "message": (last.message if last and last.outcome == "failed" else "")
        or (obs.message if obs else ""),
        "drifted": obs.drifted if obs else 0,
        "running": running,
        "queued": pending is not None,
        "failures": failures,
        "nextRun": d.scheduler.next_run(name),
        "lastResult": None if last is None else _short_run(last.to_dict()),
    }
    if detail:
        out["drift"] = obs.to_dict()["drift"] if obs else None
        out["lastResult"] = None if last is None else last.to_dict()
        out["links"] = {
            "drift": f"/api/v1/apps/{name}/drift",
            "history": f"/api/v1/apps/{name}/history",
        }
    return out


def _short_run(run: dict[str, Any]) -> dict[str, Any]:
    sync = run.pop("sync")
    run.pop("rollback")
    run["summary"] = sync["summary"] if sync else {}
    run["record"] = sync["record"] if sync else None
    return run


def history_rows(records: Sequence[RevisionRecord]) -> list[dict[str, Any]]:
    """Records without their manifests (those stay in the cluster)."""
    return [{k: v for k, v in r.to_json().items() if k not in ("manifests",)} for r in records]


def page(d: Daemon) -> str:
    rows = [app_summary(d, a.name, detail=False) for a in d.config.apps]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["syncStatus"]] = counts.get(r["syncStatus"], 0) + 1
    return render(
        "status.html.j2",
        apps=rows,
        counts=counts,
        ready=d.ready.is_set(),
        started=d.started,
        version=__version__,
    )
