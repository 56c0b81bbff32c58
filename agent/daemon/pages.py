"""The per-app page and a revision's page, from the daemon's view.

The app page (``/apps/{name}``) is Argo CD's application view on one
screen: the summary, the resource tree (the app's objects by kind, what
their controllers made beneath them, each with its sync status, health and
the rule that decided it, and its last change with the field manager that
made it), the drift the last reconcile saw with its diffs, the revision
history and the recent Events of the app's objects.  A revision's page
(``/apps/{name}/revisions/{n}``) shows the manifests that revision applied
(Secret values masked) and the diff from the revision before it, as
``helm get manifest --revision`` and ``argocd app manifests --revision``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from agent import __version__
from agent.daemon.protocol import DaemonView
from agent.daemon.state import AppSnapshot
from agent.daemon.tree import Related, tree
from agent.daemon.views import app_summary
from agent.diff.mask import mask_secret_values
from agent.errors import AgentError
from agent.redact import redact
from agent.render.documents import dump_yaml_stream
from agent.report.documents import history_rows
from agent.report.templates import render
from agent.sync.record import RevisionRecord


def _history(d: DaemonView, name: str) -> tuple[Sequence[RevisionRecord], str]:
    try:
        return d.history(name), ""
    except AgentError as e:
        return (), e.message


def _related(d: DaemonView, name: str) -> tuple[Related, str]:
    try:
        return d.related(name), ""
    except AgentError as e:
        return Related(), e.message


def app_page(d: DaemonView, name: str, snap: AppSnapshot, session: dict[str, Any]) -> str:
    """The app's page; ``session`` holds the viewer's role, CSRF token and notice."""
    summary = app_summary(d, name, snap, detail=True)
    obs = snap.observation
    health = {r.object: r for r in obs.resources} if obs else {}
    related, related_error = _related(d, name)
    records, history_error = _history(d, name)
    rows = history_rows(records)
    return redact(
        render(
            "app.html.j2",
            app=summary,
            groups=tree(obs.objects if obs else (), related.children),
            health=health,
            drift=obs.drift if obs else None,
            events=related.events,
            related_error=related_error,
            history=list(reversed(rows)),
            history_error=history_error,
            rollback_to=[r["number"] for r in reversed(rows) if r["result"] == "Succeeded"],
            session=session,
            version=__version__,
        )
    )


def manifests_text(record: RevisionRecord) -> str:
    """A revision's manifests as YAML, Secret values masked."""
    docs = [mask_secret_values(m) if m.get("kind") == "Secret" else m for m in record.manifests]
    return dump_yaml_stream(docs)


def revision_page(d: DaemonView, name: str, number: int) -> str | None:
    """A revision's manifests and its diff from the one before; None when
    the app has no such revision."""
    records = sorted(d.history(name), key=lambda r: r.number)
    this = next((r for r in records if r.number == number), None)
    if this is None:
        return None
    before = [r for r in records if r.number < number]
    previous = before[-1] if before else None
    text = manifests_text(this)
    diff = ""
    if previous is not None:
        old = manifests_text(previous)
        diff = "".join(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"revision {previous.number} ({previous.commit[:7]})",
                f"revision {number} ({this.commit[:7]})",
            )
        )
    row = history_rows([this])[0]
    return redact(
        render(
            "revision.html.j2",
            app=name,
            r=row,
            previous=None if previous is None else history_rows([previous])[0],
            manifests=text,
            diff=diff,
            count=len(this.manifests),
            version=__version__,
        )
    )
