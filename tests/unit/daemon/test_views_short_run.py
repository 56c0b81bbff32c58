"""The app list's last result: the run as its own dict says, with the
sync's summary and record in place of the whole sync (not built per app)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.daemon.state import Outcome, RunResult, Trigger
from agent.daemon.views import _short_run
from agent.models import Action, ChangeSet, ChangeSetEntry, ObjectKey, Revision
from agent.results import SyncResult


def from_whole(last: RunResult) -> dict[str, Any]:
    run = last.to_dict()
    sync = run.pop("sync")
    run.pop("rollback")
    run["summary"] = sync["summary"] if sync else {}
    run["record"] = sync["record"] if sync else None
    return run


def sync_of(record: int | None) -> SyncResult:
    keys = [ObjectKey("apps", "Deployment", "ns", "web"), ObjectKey("", "Service", "ns", "web")]
    entries = (ChangeSetEntry(keys[0], Action.CONFIGURED), ChangeSetEntry(keys[1], Action.UNCHANGED))
    return SyncResult("web", Revision("repo", "main", "a" * 40), ChangeSet(entries), record=record)


@pytest.mark.parametrize("sync", [None, sync_of(None), sync_of(7)])
def test_the_short_run_is_the_whole_run_cut_down(sync: SyncResult | None) -> None:
    started, finished = "2026-01-01T00:00:00Z", "2026-01-01T00:00:02Z"
    last = RunResult(Trigger.WEBHOOK, started, finished, 1.23456, Outcome.SYNCED, sync)
    short = _short_run(last)
    assert short == from_whole(last)
    assert list(short) == list(from_whole(last))  # the same keys in the same order
    if sync is not None:
        assert short["summary"] == sync.changeset.summary() and short["record"] == sync.record
