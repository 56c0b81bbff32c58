"""Machine- and review-readable reports: JSON, Markdown and HTML.

The JSON documents carry ``schemaVersion`` so consumers can rely on them;
Markdown and self-contained HTML pages come from the Jinja templates in the top-level ``templates/``.
Values reaching here are already masked by the diff stage.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agent.redact import redact
from agent.report.templates import render
from agent.results import AppStatus, DriftReport, RollbackResult, SyncResult

if TYPE_CHECKING:
    from agent.sync.record import RevisionRecord

SCHEMA_VERSION = "gitops-agent.io/report/v1"


def json_document(kind: str, **fields: Any) -> str:
    """A versioned JSON report (``schemaVersion``, ``kind``, then ``fields``),
    secrets redacted: every ``-o json`` output is one of these."""
    doc = {"schemaVersion": SCHEMA_VERSION, "kind": kind, **fields}
    return redact(json.dumps(doc, indent=2, default=str)) + "\n"


def sync_document(results: Sequence[SyncResult], fmt: str) -> str:
    if fmt == "json":
        return json_document("SyncReport", apps=[r.to_dict() for r in results])
    if fmt in ("markdown", "html"):
        return redact(render(f"sync.{'md' if fmt == 'markdown' else 'html'}.j2", results=results))
    raise ValueError(f"unknown report format {fmt!r}")


def drift_document(reports: Sequence[DriftReport], fmt: str) -> str:
    if fmt == "json":
        return json_document("DriftReport", apps=[r.to_dict() for r in reports])
    if fmt in ("markdown", "html"):
        return redact(render(f"drift.{'md' if fmt == 'markdown' else 'html'}.j2", reports=reports))
    raise ValueError(f"unknown report format {fmt!r}")


def status_document(statuses: Sequence[AppStatus]) -> str:
    return json_document("StatusReport", apps=[s.to_dict() for s in statuses])


def history_rows(records: Sequence[RevisionRecord]) -> list[dict[str, Any]]:
    """Records without their manifests (those stay in the cluster)."""
    return [{k: v for k, v in r.to_json().items() if k != "manifests"} for r in records]


def history_document(app: str, records: Sequence[RevisionRecord]) -> str:
    return json_document("History", app=app, revisions=history_rows(records))


def rollback_document(app: str, result: RollbackResult) -> str:
    """A rollback as JSON (without ``schemaVersion``: the form it has always had)."""
    return redact(json.dumps({"app": app, **result.to_dict()}, indent=2)) + "\n"
