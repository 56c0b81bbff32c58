"""A selector watch's events as objects enter and leave the selection (the watch cache's rules)."""

from __future__ import annotations

from typing import Any

from agent.emulator.transitions import Transitions


def cm(team: str, rv: int) -> dict[str, Any]:
    return {"metadata": {"name": "x", "namespace": "d", "labels": {"team": team}, "resourceVersion": str(rv)}}


def team_a(obj: dict[str, Any]) -> bool:
    return bool(obj["metadata"]["labels"].get("team") == "a")


def test_leaving_is_deleted_with_the_last_matching_object_and_coming_back_is_added() -> None:
    view = Transitions(team_a, lambda *_: None)
    view.seen(cm("a", 1))
    left = view.event(2, "MODIFIED", cm("b", 2))
    assert left is not None and left[0] == "DELETED"
    assert left[1]["metadata"]["labels"] == {"team": "a"} and left[1]["metadata"]["resourceVersion"] == "2"
    assert view.event(3, "MODIFIED", cm("b", 3)) is None  # still outside: nothing
    assert view.event(4, "MODIFIED", cm("a", 4)) == ("ADDED", cm("a", 4))
    assert view.event(5, "MODIFIED", cm("a", 5)) == ("MODIFIED", cm("a", 5))
    assert view.event(6, "DELETED", cm("a", 6)) == ("DELETED", cm("a", 6))


def test_an_object_not_seen_yet_is_judged_by_the_log_before_the_change() -> None:
    asked: list[tuple[int, str, str]] = []

    def before(rv: int, ns: str, name: str) -> dict[str, Any]:
        asked.append((rv, ns, name))
        return cm("a", rv - 1)

    view = Transitions(team_a, before)
    sent = view.event(7, "MODIFIED", cm("b", 7))
    assert sent is not None and sent[0] == "DELETED" and asked == [(7, "d", "x")]
    assert view.event(8, "DELETED", cm("b", 8)) is None  # it had left: a delete is not sent
    assert Transitions(team_a, before).event(9, "ADDED", cm("b", 9)) is None
