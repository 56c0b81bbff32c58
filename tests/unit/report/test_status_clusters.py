"""``status`` over apps on several clusters: the table's CLUSTER column and
its rows grouped by cluster; one cluster alone keeps the table it had."""

from __future__ import annotations

import io

from rich.console import Console

from agent.models import HealthStatus, SyncStatus
from agent.report import print_status
from agent.results import AppStatus


def _table(statuses: list[AppStatus]) -> list[list[str]]:
    buffer = io.StringIO()
    print_status(statuses, Console(file=buffer, width=200, no_color=True))
    return [line.split()[:3] for line in buffer.getvalue().splitlines()]


def _status(app: str, cluster: str = "default") -> AppStatus:
    return AppStatus(app, SyncStatus.SYNCED, HealthStatus.HEALTHY, None, cluster=cluster)


def test_rows_are_grouped_by_cluster_in_the_order_clusters_first_appear() -> None:
    rows = _table([_status("web"), _status("api", "b"), _status("jobs"), _status("cron", "b")])
    assert rows == [
        ["CLUSTER", "APP", "SYNC"],
        ["default", "web", "Synced"],
        ["default", "jobs", "Synced"],
        ["b", "api", "Synced"],
        ["b", "cron", "Synced"],
    ]


def test_one_named_cluster_still_says_which() -> None:
    assert _table([_status("api", "b")])[0] == ["CLUSTER", "APP", "SYNC"]


def test_the_default_cluster_alone_keeps_the_table_without_the_column() -> None:
    assert _table([_status("web"), _status("jobs")]) == [
        ["APP", "SYNC", "HEALTH"],
        ["web", "Synced", "Healthy"],
        ["jobs", "Synced", "Healthy"],
    ]
    assert _status("web").to_dict()["cluster"] == "default"
