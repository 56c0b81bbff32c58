"""The deletion budget: what an AppSet may remove in one pass."""

from __future__ import annotations

from pathlib import Path

from agent.config import Application
from agent.config.fleet import DeletionBudget
from agent.emulator import EmulatedCluster
from agent.fleet.budget import AppSetState, judge, state_name


def apps(*names: str) -> list[Application]:
    return [Application(name=n, repo="r", path=f"apps/{n}") for n in names]


def by_name(*names: str) -> dict[str, Application]:
    return {a.name: a for a in apps(*names)}


def test_a_failed_generator_removes_nothing_and_says_why() -> None:
    verdict = judge("set", DeletionBudget(), by_name("a", "b"), None, "appSets[0] (set): mono: not found")
    assert [a.name for a in verdict.apps] == ["a", "b"] and not verdict.remember
    assert verdict.problem == "appSets[0] (set): mono: not found; nothing removed, its 2 apps are kept"


def test_an_empty_result_removes_nothing_unless_allowed() -> None:
    verdict = judge("set", DeletionBudget(), by_name("a", "b"), [])
    assert [a.name for a in verdict.apps] == ["a", "b"] and not verdict.remember
    assert (
        "returned no apps; nothing removed, its 2 apps are kept (deletionBudget.allowEmpty" in verdict.problem
    )
    allowed = judge("set", DeletionBudget(allow_empty=True), by_name("a", "b"), [])
    assert allowed.apps == () and allowed.removed == ("a", "b") and not allowed.problem


def test_removing_more_than_max_percent_removes_nothing() -> None:
    previous = by_name(*"abcdefghij")
    within = judge("set", DeletionBudget(max_percent=30), previous, apps(*"abcdefg", "new"))
    assert within.removed == ("h", "i", "j") and not within.problem
    assert sorted(a.name for a in within.apps) == [*"abcdefg", "new"]
    over = judge("set", DeletionBudget(max_percent=30), previous, apps(*"abcdef"))
    assert over.removed == () and sorted(a.name for a in over.apps) == sorted("abcdefghij")
    assert over.problem == (
        "appset set: would remove 4 of its 10 apps (40%, more than deletionBudget.maxPercent 30%); "
        "nothing removed: g, h, i, j"
    )


def test_the_first_pass_removes_nothing() -> None:
    verdict = judge("set", DeletionBudget(max_percent=0), {}, apps("a"))
    assert [a.name for a in verdict.apps] == ["a"] and verdict.remember and not verdict.problem


def test_the_last_apps_are_kept_in_the_cluster(tmp_path: Path) -> None:
    cluster = EmulatedCluster(tmp_path / "c.db")
    try:
        state = AppSetState(cluster, "gitops-agent")
        assert state.load("set") == {}
        made = [Application(name="a", repo="r", labels={"t": "x"}, destination={"namespace": "ns"})]
        state.save("set", made)
        live = cluster.get("v1", "ConfigMap", state_name("set"), "gitops-agent")
        assert live is not None
        assert live["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "gitops-agent"
        again = AppSetState(cluster, "gitops-agent").load("set")
        assert again == {"a": made[0]}
        writes = cluster.writes
        state.save("set", made)  # unchanged: nothing written
        assert cluster.writes == writes
    finally:
        cluster.close()
