"""A paged list's later pages show the objects as they were when its first page was read,
as the API server reads every page at the first page's resourceVersion."""

from __future__ import annotations

from typing import Any

import pytest

from agent.emulator import EmulatedCluster
from agent.kube.errors import Expired, Timeout


def cm(name: str, value: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop", "labels": labels},
        "data": {"v": value},
    }


@pytest.fixture
def cluster() -> EmulatedCluster:
    cluster = EmulatedCluster()
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    for name in ("a", "b", "c", "d", "e"):
        cluster.create(cm(name, "old", tier="web"))
    return cluster


def page(cluster: EmulatedCluster, token: str = "", selector: str | None = None) -> Any:
    rt = cluster.resource_type("v1", "ConfigMap")
    return cluster.registry.list(rt, "shop", selector, limit=2, continue_token=token)


def seen(result: Any) -> list[tuple[str, str]]:
    return [(o["metadata"]["name"], o["data"]["v"]) for o in result.items]


def test_later_pages_show_the_objects_as_they_were_at_the_first_page(cluster: EmulatedCluster) -> None:
    first = page(cluster, selector="tier=web")
    assert seen(first) == [("a", "old"), ("b", "old")]
    cluster.replace(cm("c", "new", tier="db"))  # changed, and no longer selected now
    cluster.delete("v1", "ConfigMap", "d", "shop")
    cluster.create(cm("bb", "new", tier="web"))  # created after the first page
    cluster.replace(cm("a", "new", tier="web"))  # before the page's start: not shown again
    second = page(cluster, first.continue_token, "tier=web")
    assert seen(second) == [("c", "old"), ("d", "old")]
    assert second.resource_version == first.resource_version
    third = page(cluster, second.continue_token, "tier=web")
    assert seen(third) == [("e", "old")] and not third.continue_token
    # a list started now sees the cluster as it is
    now = [o["metadata"]["name"] for o in cluster.list("v1", "ConfigMap", "shop", "tier=web")]
    assert now == ["a", "b", "bb", "e"]


def test_a_continue_token_older_than_the_kept_log_is_refused_with_410(cluster: EmulatedCluster) -> None:
    first = page(cluster)
    cluster.store.events_kept = 10
    for i in range(40):  # enough writes for the log to drop the first page's version
        cluster.create(cm(f"z{i:02d}", "x"))
    with pytest.raises(Expired, match="continue parameter is too old"):
        page(cluster, first.continue_token)


def test_an_exact_list_reads_an_earlier_version_until_it_is_compacted(cluster: EmulatedCluster) -> None:
    rt = cluster.resource_type("v1", "ConfigMap")
    then = int(cluster.registry.list(rt, "shop").resource_version)
    cluster.delete("v1", "ConfigMap", "e", "shop")
    at_then = cluster.registry.list(rt, "shop", "tier=web", exact=then)
    assert [o["metadata"]["name"] for o in at_then.items] == ["a", "b", "c", "d", "e"]
    assert at_then.resource_version == str(then)
    with pytest.raises(Timeout, match="Too large resource version"):
        cluster.registry.list(rt, "shop", exact=then + 1000)
    cluster.store.events_kept = 10
    for i in range(40):
        cluster.create(cm(f"z{i:02d}", "x"))
    with pytest.raises(Expired, match="resourceVersion for the provided list is too old"):
        cluster.registry.list(rt, "shop", exact=then)
