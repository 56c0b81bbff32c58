"""Choosing apps of the fleet by name and by kubectl's label selector."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import Application, parse_config
from agent.errors import ConfigError
from agent.fleet import Fleet, FleetApp
from agent.fleet.select import describe_terms, needs_fleet, parse_selector, select


def fleet() -> Fleet:
    labels = {"web": {"team": "shop", "tier": "front"}, "db": {"team": "shop"}, "api": {"team": "data"}}
    return Fleet(tuple(FleetApp(Application(name=n, repo="r", labels=ls)) for n, ls in labels.items()))


def names(apps: list[Application]) -> list[str]:
    return [a.name for a in apps]


def test_terms() -> None:
    f = fleet()
    assert names(select(f, None, parse_selector("team=shop"))) == ["web", "db"]
    assert names(select(f, None, parse_selector("team==shop,tier"))) == ["web"]
    assert names(select(f, None, parse_selector("team=shop,!tier"))) == ["db"]
    assert names(select(f, None, parse_selector("team!=shop"))) == ["api"]
    assert names(select(f, ["api", "web", "api"], parse_selector("team=shop"))) == ["web"]
    assert describe_terms(parse_selector(" team = shop , !tier ")) == "team=shop,!tier"


@pytest.mark.parametrize("bad", ["", "team=", "=shop", "team=a b", "a,,b", "team=shop!"])
def test_bad_terms_are_named(bad: str) -> None:
    if bad == "team=":  # an empty value is a value (kubectl: the label is set to "")
        assert parse_selector(bad)[0].value == ""
        return
    with pytest.raises(ValueError, match="is not a label selector term"):
        parse_selector(bad)


def test_unknown_names_name_the_fleet() -> None:
    with pytest.raises(ConfigError, match=r"no app named 'nope' in the fleet \(apps: web, db, api\)"):
        select(fleet(), ["nope"])


def test_when_the_fleet_is_needed(tmp_path: Path) -> None:
    cfg = parse_config({"apps": [{"name": "web", "repo": "https://x.invalid/r.git"}]}, "agent.yaml", tmp_path)
    assert not needs_fleet(cfg, ["web"], None)
    assert needs_fleet(cfg, ["web", "child"], None)
    assert needs_fleet(cfg, ["web"], "team=a")
    assert needs_fleet(cfg, None, None)
