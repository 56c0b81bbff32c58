"""The exit code of each command, decided from its results."""

from __future__ import annotations

from agent.exits import ExitCode, diff_exit, rollback_exit, status_exit, sync_exit
from agent.models import HealthStatus, SyncStatus
from agent.results import AppStatus, DriftReport, Failure, Reason, RollbackResult, Stage, SyncResult

UNREACHABLE = Failure(Stage.CLUSTER, "the cluster cannot be reached", Reason.CLUSTER_UNAVAILABLE)


def test_the_table_is_distinct() -> None:
    codes = [int(c) for c in ExitCode]
    assert len(set(codes)) == len(codes) == 9
    assert ExitCode.USAGE == 2  # Click's, as most Unix tools


def test_sync_exit_tells_each_outcome_apart() -> None:
    ok = SyncResult("a", None)
    early = SyncResult("b", None, failure=Failure(Stage.RENDER, "bad template"))
    unreachable = SyncResult("u", None, failure=UNREACHABLE)
    late = SyncResult("c", None, failure=Failure(Stage.APPLY, "refused"))
    back = RollbackResult(1, "abc", "after a failure")
    rolled = SyncResult("r", None, failure=Failure(Stage.HEALTH, "Degraded"), rollback=back)
    failed_back = RollbackResult(1, "abc", "after a failure", failure=Failure(Stage.APPLY, "refused"))
    rollback_failed = SyncResult("f", None, failure=Failure(Stage.HEALTH, "Degraded"), rollback=failed_back)
    held = SyncResult("d", None, held="held after a rollback")
    assert sync_exit([ok]) is ExitCode.OK
    assert sync_exit([ok, early]) is ExitCode.ERROR
    assert sync_exit([ok, unreachable]) is ExitCode.UNREACHABLE
    assert sync_exit([early, unreachable]) is ExitCode.UNREACHABLE
    assert sync_exit([rolled]) is ExitCode.ROLLED_BACK
    assert sync_exit([rollback_failed]) is ExitCode.SYNC_FAILED
    assert sync_exit([held]) is ExitCode.HELD
    # several apps: the most serious decides
    assert sync_exit([early, late]) is ExitCode.SYNC_FAILED
    assert sync_exit([held, rolled, unreachable]) is ExitCode.ROLLED_BACK
    assert sync_exit([held, unreachable]) is ExitCode.HELD


def test_diff_status_and_rollback_exits() -> None:
    assert diff_exit([DriftReport("a", None)]) is ExitCode.OK
    assert diff_exit([DriftReport("a", None, failure=Failure(Stage.SOURCE, "gone"))]) is ExitCode.ERROR
    assert diff_exit([DriftReport("a", None, failure=UNREACHABLE)]) is ExitCode.UNREACHABLE
    well = AppStatus("a", SyncStatus.SYNCED, HealthStatus.HEALTHY, None)
    ill = AppStatus("b", SyncStatus.SYNCED, HealthStatus.DEGRADED, None)
    unknown = AppStatus("c", SyncStatus.UNKNOWN, HealthStatus.UNKNOWN, None, failure=UNREACHABLE)
    assert status_exit([well]) is ExitCode.OK
    assert status_exit([well, ill]) is ExitCode.DRIFT
    assert status_exit([ill, unknown]) is ExitCode.UNREACHABLE
    assert rollback_exit(RollbackResult(1, "abc", "by hand")) is ExitCode.OK
    failed = RollbackResult(1, "abc", "by hand", failure=Failure(Stage.APPLY, "refused"))
    assert rollback_exit(failed) is ExitCode.SYNC_FAILED
