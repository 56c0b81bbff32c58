"""One-line messages made from results: what a log line, a notification, the
status API and the terminal say about a sync, a rollback or drift.

They live beside the other reports, not in the daemon, so the words the
daemon logs and sends are the words the CLI prints, and each is written once.
Every message that can carry text from outside (an error, a held commit) is
passed through :func:`agent.redact.redact`.
"""

from __future__ import annotations

from agent.models import ChangeSet
from agent.redact import redact
from agent.results import RollbackResult, SyncResult


def changes_summary(changeset: ChangeSet) -> str:
    """``2 created, 1 configured`` (``no objects`` for an empty change set)."""
    return ", ".join(f"{n} {a}" for a, n in changeset.summary().items()) or "no objects"


def sync_message(result: SyncResult) -> str:
    """What a sync came to: the hold, the failure, or the changes and the record."""
    if result.held is not None:
        return redact(result.held)
    if result.failure is not None:
        return redact(str(result.failure))
    recorded = f"; revision {result.record} recorded" if result.record else ""
    if result.unrecorded is not None:
        recorded = f"; converged, record not written ({redact(result.unrecorded)})"
    return f"{changes_summary(result.changeset)}{recorded}"


def manual_rollback_message(rb: RollbackResult) -> str:
    return f"rolled back by hand to revision {rb.to_revision} (commit {rb.commit[:7]})"


def automatic_rollback_message(sync: SyncResult, rb: RollbackResult) -> str:
    """A failed sync and the rollback that followed it (and its failure, if any)."""
    text = f"{sync.failure}; rolled back to revision {rb.to_revision} (commit {rb.commit[:7]})"
    if not rb.ok:
        text += f"; the rollback failed: {rb.failure}"
    return redact(text)


def drift_action(*, automated: bool, self_heal: bool) -> str:
    """What the agent does about drift under an app's sync policy."""
    if automated and self_heal:
        return "correcting it (selfHeal)"
    if automated:
        return "reported only (selfHeal is off)"
    return "reported only (automated sync is off)"


def drift_message(drifted: int, action: str) -> str:
    return f"{drifted} object(s) differ from Git; {action}"
