"""Rendezvous hashing: a member joining or leaving moves only the apps it gains or loses."""

from __future__ import annotations

import pytest

from agent.ha.shard import assign, moved, owner, score

APPS = [f"app-{i:02d}" for i in range(30)]
THREE = {"agent-a": 1.0, "agent-b": 1.0, "agent-c": 1.0}


def test_a_fixed_input_gives_a_fixed_assignment() -> None:
    shares = assign(APPS, THREE)
    numbers = {member: [int(app[4:]) for app in apps] for member, apps in shares.items()}
    assert numbers == {
        "agent-a": [1, 2, 5, 7, 10, 13, 16, 20, 26, 29],
        "agent-b": [0, 8, 9, 11, 14, 15, 18, 25],
        "agent-c": [3, 4, 6, 12, 17, 19, 21, 22, 23, 24, 27, 28],
    }
    assert shares == assign(reversed(APPS), dict(reversed(THREE.items())))  # order does not matter


def test_a_member_joining_takes_apps_only_for_itself() -> None:
    before = assign(APPS, THREE)
    after = assign(APPS, {**THREE, "agent-d": 1.0})
    expected = [
        "app-00",
        "app-02",
        "app-04",
        "app-06",
        "app-08",
        "app-11",
        "app-12",
        "app-17",
        "app-24",
        "app-29",
    ]
    assert sorted(moved(before, after)) == expected
    assert after["agent-d"] == expected  # every app that moved went to the new member
    for member in THREE:
        assert set(after[member]) == set(before[member]) - set(expected)


def test_a_member_leaving_gives_up_only_its_own_apps() -> None:
    before = assign(APPS, THREE)
    after = assign(APPS, {"agent-a": 1.0, "agent-c": 1.0})
    assert moved(before, after) == set(before["agent-b"])
    assert set(after["agent-a"]) >= set(before["agent-a"])
    assert set(after["agent-c"]) >= set(before["agent-c"])


@pytest.mark.parametrize("members", [2, 3, 5, 8])
def test_about_one_nth_moves_over_many_names(members: int) -> None:
    apps = [f"team-{i}/service-{i * 7919 % 1000}" for i in range(6000)]
    group = {f"replica-{n}": 1.0 for n in range(members)}
    before = assign(apps, group)
    grown = assign(apps, {**group, "replica-new": 1.0})
    share = len(apps) / (members + 1)
    assert 0.85 * share < len(moved(before, grown)) < 1.15 * share
    assert moved(before, grown) == set(grown["replica-new"])
    shrunk = assign(apps, {k: v for k, v in group.items() if k != "replica-0"})
    assert moved(before, shrunk) == set(before["replica-0"])
    for apps_of_one in before.values():  # the split itself is even
        assert 0.85 * len(apps) / members < len(apps_of_one) < 1.15 * len(apps) / members


def test_capacity_weights_the_share() -> None:
    apps = [f"app-{i}" for i in range(6000)]
    shares = assign(apps, {"big": 2.0, "small": 1.0})
    assert 0.62 < len(shares["big"]) / len(apps) < 0.71  # two thirds
    assert assign(apps, {"big": 2.0, "small": 0.0}) == {"big": sorted(apps)}  # weight 0 owns nothing


def test_no_members_no_owner() -> None:
    assert owner("app", {}) is None
    assert assign(["app"], {}) == {}
    assert 0 < score("a", "b") == score("a", "b") != score("b", "a")
