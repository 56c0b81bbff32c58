"""The dependsOn graph: unknown names and cycles refused with their names,
the order in waves."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import Application, parse_config
from agent.config.fleet import find_cycle
from agent.errors import ConfigError
from agent.fleet.graph import check, closure, dependents, problems, waves


def _app(name: str, *deps: str) -> Application:
    return Application(name=name, repo="https://example.invalid/r.git", depends_on=list(deps))


def test_waves_put_each_app_after_its_dependencies_and_independent_apps_together() -> None:
    apps = [_app("web", "api", "cache"), _app("api", "db"), _app("db"), _app("cache"), _app("docs")]
    assert [[a.name for a in w] for w in waves(apps)] == [["db", "cache", "docs"], ["api"], ["web"]]


def test_a_dependency_outside_the_apps_chosen_is_taken_as_met() -> None:
    assert [[a.name for a in w] for w in waves([_app("web", "db")])] == [["web"]]


def test_an_unknown_dependency_is_named() -> None:
    with pytest.raises(ConfigError, match=r"app 'web': dependsOn names 'dbx', not an app of the fleet"):
        check([_app("web", "dbx"), _app("db")])


@pytest.mark.parametrize(
    ("deps", "cycle"),
    [
        ({"a": ["b"], "b": ["a"]}, ["a", "b", "a"]),
        ({"a": ["a"]}, ["a", "a"]),
        ({"x": ["a"], "a": ["b"], "b": ["c"], "c": ["a"]}, ["a", "b", "c", "a"]),
        ({"a": ["b", "c"], "b": ["c"], "c": []}, None),
        ({"a": ["elsewhere"]}, None),
    ],
)
def test_find_cycle_names_the_apps_along_it(deps: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert find_cycle(deps) == cycle


def test_a_cycle_in_the_fleet_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"dependsOn forms a cycle: api -> web -> api"):
        check([_app("web", "api"), _app("api", "web"), _app("db")])
    with pytest.raises(ConfigError, match=r"api -> web -> api"):
        waves([_app("web", "api"), _app("api", "web")])


def test_agent_yaml_refuses_a_cycle_among_its_apps_at_load_time() -> None:
    data = {
        "apps": [
            {"name": "a", "repo": "r", "dependsOn": ["b"]},
            {"name": "b", "repo": "r", "dependsOn": ["c"]},
            {"name": "c", "repo": "r", "dependsOn": ["a"]},
        ]
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "agent.yaml", Path("."))
    assert str(caught.value) == "agent.yaml: apps: dependsOn forms a cycle: a -> b -> c -> a"


def test_dependents_and_everything_waiting_for_an_app() -> None:
    apps = [_app("web", "api"), _app("api", "db"), _app("worker", "db"), _app("db")]
    assert dependents(apps) == {"api": ["web"], "db": ["api", "worker"]}
    assert closure(apps, "db") == ["api", "worker", "web"]
    assert closure(apps, "web") == []


def test_the_fleets_problems_name_every_unknown_dependency_and_the_cycle() -> None:
    apps = [_app("web", "api", "gone"), _app("api", "web"), _app("docs", "lost")]
    assert problems(apps) == [
        "app 'web': dependsOn names 'gone', not an app of the fleet",
        "app 'docs': dependsOn names 'lost', not an app of the fleet",
        "dependsOn forms a cycle: api -> web -> api",
    ]
    assert problems([_app("web", "db"), _app("db")]) == []
