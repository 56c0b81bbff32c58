"""Reports of sync results and drift: terminal, JSON, Markdown."""

from agent.report.documents import drift_document, sync_document
from agent.report.terminal import print_drift, print_sync

__all__ = ["drift_document", "print_drift", "print_sync", "sync_document"]
