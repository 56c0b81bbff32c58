"""Sync windows at fixed times: Argo CD's rule (deny wins; with allow
windows, only inside one; manualSync), cron's weekdays, time zones and
daylight saving time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.config import Application, SyncWindow, parse_config
from agent.errors import ConfigError
from agent.fleet.windows import closed, next_opening, open_until, selects, trigger


def _w(kind: str, schedule: str, duration: str, **more: Any) -> SyncWindow:
    return SyncWindow.model_validate({"kind": kind, "schedule": schedule, "duration": duration, **more})


def _app(**more: Any) -> Application:
    return Application.model_validate({"name": "web", "repo": "r", **more})


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


NIGHT = _w("deny", "0 22 * * *", "2h")  # 22:00-24:00 UTC


@pytest.mark.parametrize(
    ("now", "until"),
    [
        ("2026-05-04T21:59:59", None),
        ("2026-05-04T22:00:00", "2026-05-05T00:00:00"),
        ("2026-05-04T23:59:59", "2026-05-05T00:00:00"),
        ("2026-05-05T00:00:00", None),
    ],
)
def test_a_window_is_open_from_each_firing_for_its_duration(now: str, until: str | None) -> None:
    assert open_until(NIGHT, _t(now)) == (None if until is None else _t(until))


def test_openings_that_overlap_are_one() -> None:
    twice = _w("deny", "0,10 9 * * *", "15m")
    assert open_until(twice, _t("2026-05-04T09:05:00")) == _t("2026-05-04T09:25:00")


def test_deny_defers_a_sync_until_the_window_ends() -> None:
    found = closed(_app(), [NIGHT], _t("2026-05-04T23:00:00"))
    assert found is not None and found.until == _t("2026-05-05T00:00:00")
    assert found.message == (
        "Sync deferred by window deny '0 22 * * *' for 2h (UTC) until 2026-05-05T00:00:00Z"
    )
    assert closed(_app(), [NIGHT], _t("2026-05-04T12:00:00")) is None


def test_with_allow_windows_an_app_syncs_only_inside_one_and_deny_wins() -> None:
    office = _w("allow", "0 9 * * 1-5", "8h")  # weekdays 09:00-17:00 UTC
    monday_noon, monday_night = _t("2026-05-04T12:00:00"), _t("2026-05-04T20:00:00")
    assert closed(_app(), [office], monday_noon) is None
    waiting = closed(_app(), [office], monday_night)
    assert waiting is not None and waiting.window is office and waiting.until == _t("2026-05-05T09:00:00")
    lunch = _w("deny", "0 12 * * *", "1h")
    denied = closed(_app(), [office, lunch], monday_noon)
    assert denied is not None and denied.window is lunch


def test_manual_sync_passes_only_windows_that_allow_it() -> None:
    office_manual = _w("allow", "0 9 * * 1-5", "8h", manualSync=True)
    saturday = _t("2026-05-09T12:00:00")
    assert closed(_app(), [office_manual], saturday) is not None
    assert closed(_app(), [office_manual], saturday, manual=True) is None
    freeze = _w("deny", "0 0 * * *", "24h")
    assert closed(_app(), [freeze], saturday, manual=True) is not None
    assert closed(_app(), [_w("deny", "0 0 * * *", "24h", manualSync=True)], saturday, manual=True) is None


def test_cron_counts_weekdays_from_sunday() -> None:
    sundays = _w("deny", "0 0 * * 0", "24h")
    assert open_until(sundays, _t("2026-05-10T12:00:00")) is not None  # a Sunday
    assert open_until(sundays, _t("2026-05-11T12:00:00")) is None  # a Monday
    assert open_until(_w("deny", "0 0 * * 7", "24h"), _t("2026-05-10T12:00:00")) is not None
    weekend = _w("deny", "0 0 * * sat,sun", "24h")
    assert open_until(weekend, _t("2026-05-09T12:00:00")) is not None
    assert open_until(weekend, _t("2026-05-08T12:00:00")) is None
    assert next_opening(_w("allow", "@weekly", "1h"), _t("2026-05-06T00:00:00")) == _t("2026-05-10T00:00:00")


def test_a_time_zone_and_daylight_saving_time() -> None:
    berlin = _w("allow", "0 9 * * *", "1h", timeZone="Europe/Berlin")
    # before the change (CET, UTC+1) the window opens at 08:00 UTC; after it (CEST, UTC+2) at 07:00
    assert open_until(berlin, _t("2026-03-28T08:30:00")) == _t("2026-03-28T09:00:00")
    assert open_until(berlin, _t("2026-03-30T08:30:00")) is None
    assert open_until(berlin, _t("2026-03-30T07:30:00")) == _t("2026-03-30T08:00:00")
    new_york = _w("deny", "0 17 * * *", "1h", timeZone="America/New_York")
    assert next_opening(new_york, _t("2026-01-15T00:00:00")) == _t("2026-01-15T22:00:00")
    assert next_opening(new_york, _t("2026-07-15T00:00:00")) == _t("2026-07-15T21:00:00")


def test_agent_wide_windows_select_apps_by_name_labels_and_cluster() -> None:
    web = _app(labels={"team": "shop"}, destination={"cluster": "eu"})
    assert selects(_w("deny", "@daily", "1h"), web)
    assert selects(_w("deny", "@daily", "1h", apps=["w*"]), web)
    assert not selects(_w("deny", "@daily", "1h", apps=["api", "db-*"]), web)
    assert selects(_w("deny", "@daily", "1h", selector={"team": "shop"}, clusters=["eu"]), web)
    assert not selects(_w("deny", "@daily", "1h", selector={"team": "ops"}), web)
    assert not selects(_w("deny", "@daily", "1h", clusters=["us"]), web)
    own = _app(syncWindows=[{"kind": "deny", "schedule": "0 22 * * *", "duration": "2h"}])
    assert closed(own, [], _t("2026-05-04T23:00:00")) is not None
    assert closed(_app(), [_w("deny", "0 22 * * *", "2h", apps=["api"])], _t("2026-05-04T23:00:00")) is None


def test_a_schedule_cron_cannot_read_is_named() -> None:
    with pytest.raises(ConfigError, match=r"sync window schedule '0 25 \* \* \*'"):
        trigger("0 25 * * *", "UTC")
    with pytest.raises(ConfigError, match="day of the week '9' is not 0-7"):
        trigger("0 0 * * 9", "UTC")
    with pytest.raises(ConfigError, match="day of the week 'x' is not 0-7 or a name"):
        trigger("0 0 * * x", "UTC")


def test_agent_yaml_refuses_a_schedule_cron_cannot_read_when_read() -> None:
    data = {"syncWindows": [{"kind": "deny", "schedule": "0 25 * * *", "duration": "1h"}]}
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "agent.yaml", Path("."))
    assert str(caught.value).startswith("agent.yaml: syncWindows[0]: schedule '0 25 * * *': ")
