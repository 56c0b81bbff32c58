"""Reports of sync results, drift, status and history: terminal, JSON, Markdown, HTML."""

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
