"""``status`` and ``history`` in every format their ``-o`` offers: the
kubectl ones (``json``, ``yaml``, ``name``, ``wide``) and real Markdown and
HTML documents (a history's rows link to each revision's manifests and to
the diff from the revision before, in the same page).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import yaml

from agent.diff.revisions import compare_manifests, shown
from agent.redact import redact
from agent.render.documents import dump_yaml_stream
from agent.report.documents import history_document, history_rows, json_document
from agent.report.templates import render

if TYPE_CHECKING:
    from agent.results import AppStatus
    from agent.sync.record import RevisionRecord


def _yaml(json_text: str) -> str:
    return yaml.safe_dump(json.loads(json_text), sort_keys=False, allow_unicode=True)


def status_output(statuses: Sequence[AppStatus], fmt: str, cluster: str = "") -> str:
    """The status document in ``fmt`` (json, yaml, name, markdown, html)."""
    doc = json_document("StatusReport", apps=[s.to_dict() for s in statuses])
    if fmt == "json":
        return doc
    if fmt == "yaml":
        return _yaml(doc)
    if fmt == "name":
        return "".join(f"{s.app}\n" for s in statuses)
    name = "status-report.md.j2" if fmt == "markdown" else "status-report.html.j2"
    return redact(render(name, statuses=statuses, cluster=cluster))


def revision_label(ref: str) -> str:
    """The ref a record shows beside its commit: none for ``HEAD`` (every
    revision of an app that follows the default branch would say it)."""
    return "" if ref in ("", "HEAD") else ref


def _with_documents(records: Sequence[RevisionRecord]) -> list[dict[str, Any]]:
    rows = []
    for i, (r, row) in enumerate(zip(records, history_rows(records), strict=True)):
        row["label"] = revision_label(r.ref)
        row["manifests"] = dump_yaml_stream([shown(o) for o in r.manifests])
        before = records[i - 1] if i else None
        row["previous"] = before.number if before else None
        changes = (
            compare_manifests(before.manifests, r.manifests, str(before.number), str(r.number))
            if before
            else []
        )
        row["changes"] = changes
        row["diff"] = "".join(c.diff for c in changes)
        rows.append(row)
    return rows


def history_output(app: str, records: Sequence[RevisionRecord], fmt: str) -> str:
    """The history in ``fmt`` (json, yaml, name, markdown, html)."""
    if fmt == "json":
        return history_document(app, records)
    if fmt == "yaml":
        return _yaml(history_document(app, records))
    if fmt == "name":
        return "".join(f"{r.number}\n" for r in records)
    name = "history-report.md.j2" if fmt == "markdown" else "history-report.html.j2"
    return redact(render(name, app=app, rows=_with_documents(records)))
