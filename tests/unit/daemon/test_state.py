"""An app's observation as the status API shows it."""

from __future__ import annotations

from agent.daemon.state import Observation
from agent.models import DiffStatus, HealthStatus, ObjectKey, ResourceDiff, SyncStatus
from agent.results import DriftReport


def test_the_drift_is_counted_without_rendering_any_diff() -> None:
    rendered: list[str] = []

    def unified() -> str:
        rendered.append("yes")
        return "--- live\n+++ git\n"

    def diff(name: str, status: DiffStatus) -> ResourceDiff:
        return ResourceDiff(ObjectKey("", "ConfigMap", "ns", name), status, unified_source=unified)

    diffs = (diff("a", DiffStatus.MODIFIED), diff("b", DiffStatus.MISSING), diff("c", DiffStatus.MODIFIED))
    report = DriftReport(
        "web", None, (*diffs, ResourceDiff(ObjectKey("", "Secret", "ns", "d"), DiffStatus.IN_SYNC))
    )
    obs = Observation("2026-01-01T00:00:00Z", None, SyncStatus.OUT_OF_SYNC, HealthStatus.HEALTHY, report)
    shown = obs.to_dict()["drift"]
    assert shown == {
        "drifted": 3,
        "counts": {"in-sync": 1, "modified": 2, "missing": 1},
        "objects": ["ConfigMap/ns/a", "ConfigMap/ns/b", "ConfigMap/ns/c"],
    }
    assert rendered == []  # nothing asked for the YAML diffs, so none was made (or kept)
