"""Everything made from results for people and programs to read.

:mod:`.terminal` (rich tables), :mod:`.documents` (JSON, Markdown, HTML),
:mod:`.templates`, :mod:`.progress`, :mod:`.messages` (the one-line texts of
logs and notifications), :mod:`.notifications` (delivery to Slack or JSON
targets) and :mod:`.metrics` (Prometheus).  The CLI and the daemon both
report through here, so a result reads the same wherever it is shown.

Only the light modules are imported below: metrics and notifications load
prometheus_client and httpx, which a one-shot command never needs.
"""

from agent.report.documents import drift_document, sync_document
from agent.report.progress import sync_progress
from agent.report.terminal import print_drift, print_history, print_rollback, print_status, print_sync

__all__ = [
    "drift_document",
    "print_drift",
    "print_history",
    "print_rollback",
    "print_status",
    "print_sync",
    "sync_document",
    "sync_progress",
]
