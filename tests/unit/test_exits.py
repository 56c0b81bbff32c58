"""The exit code of each command, decided from its results."""

from __future__ import annotations

from agent.exits import ExitCode, diff_exit, rollback_exit, status_exit, sync_exit
from agent.models import HealthStatus, SyncStatus
from agent.results import AppStatus, DriftReport, Failure, RollbackResult, Stage, SyncResult


def test_sync_exit_tells_early_errors_from_failed_changes() -> None:
    ok = SyncResult("a", None)
    early = SyncResult("b", None, failure=Failure(Stage.RENDER, "bad template"))
    late = SyncResult("c", None, failure=Failure(Stage.APPLY, "refused"))
    held = SyncResult("d", None, held="held after a rollback")
    assert sync_exit([ok]) is ExitCode.OK
    assert sync_exit([ok, early]) is ExitCode.ERROR
    assert sync_exit([early, late]) is ExitCode.SYNC_FAILED
    assert sync_exit([held]) is ExitCode.SYNC_FAILED


def test_diff_status_and_rollback_exits() -> None:
    assert diff_exit([DriftReport("a", None)]) is ExitCode.OK
    assert diff_exit([DriftReport("a", None, failure=Failure(Stage.SOURCE, "gone"))]) is ExitCode.ERROR
    well = AppStatus("a", SyncStatus.SYNCED, HealthStatus.HEALTHY, None)
    ill = AppStatus("b", SyncStatus.SYNCED, HealthStatus.DEGRADED, None)
    assert status_exit([well]) is ExitCode.OK
    assert status_exit([well, ill]) is ExitCode.DRIFT
    assert rollback_exit(RollbackResult(1, "abc", "by hand")) is ExitCode.OK
    failed = RollbackResult(1, "abc", "by hand", failure=Failure(Stage.APPLY, "refused"))
    assert rollback_exit(failed) is ExitCode.SYNC_FAILED
