"""Sync windows: when an app may sync, as Argo CD decides it.

A window opens each time its cron ``schedule`` fires (in its ``timeZone``)
and stays open for ``duration``.  An app's windows are its own
(``syncWindows`` of its definition) and those of ``agent.yaml``'s
``syncWindows:`` that select it (by name globs, labels, clusters; a window
selecting nothing applies to every app).  A sync is allowed when no deny
window is open and either no allow window applies or one is open, which is
Argo CD's rule (its ``SyncWindows.CanSync``): a deny window wins; a manual
sync passes an open deny window when every open deny window has
``manualSync``, and passes closed allow windows when one of them has it.

"Now" is always a parameter, so the rule is tested at fixed times.  Fire
times come from APScheduler's ``CronTrigger`` (time zones and daylight
saving time included); the only translation is the day of the week, which
APScheduler 3 counts from Monday where cron counts from Sunday.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from agent.config import Application, SyncWindow
from agent.config.cron import cron_trigger
from agent.errors import ConfigError

_STEPS = 1000  # fire times looked at to chain overlapping openings (a window every minute for 16 h)


def trigger(schedule: str, time_zone: str) -> CronTrigger:
    """The window's schedule as a CronTrigger; ConfigError naming it when
    cron would not read it (``agent.yaml``'s windows were checked when read)."""
    try:
        return cron_trigger(schedule, time_zone)
    except ValueError as e:
        raise ConfigError(f"sync window schedule {schedule!r}: {e}") from None


def describe(window: SyncWindow) -> str:
    """``deny '0 22 * * *' for 1h (UTC)``: how a message names a window."""
    return f"{window.kind} {window.schedule!r} for {window.duration} ({window.time_zone})"


def open_until(window: SyncWindow, now: datetime) -> datetime | None:
    """When the opening of ``window`` that ``now`` falls in ends (openings
    that overlap are one), or None when it is closed at ``now``."""
    cron = trigger(window.schedule, window.time_zone)
    length = timedelta(seconds=window.seconds)
    fire: datetime | None = cron.get_next_fire_time(None, now - length)
    if fire is None or fire > now or length <= timedelta(0):
        return None
    end: datetime = fire + length
    for _ in range(_STEPS):
        fire = cron.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if fire is None or fire >= end:
            break
        end = fire + length
    return end.astimezone(UTC) if end > now else None


def next_opening(window: SyncWindow, now: datetime) -> datetime | None:
    fire: datetime | None = trigger(window.schedule, window.time_zone).get_next_fire_time(None, now)
    return None if fire is None else fire.astimezone(UTC)


def selects(window: SyncWindow, app: Application) -> bool:
    """Whether an agent-wide window applies to ``app``: every selector the
    window has matches (names or globs, labels, clusters); none: every app."""
    if window.apps and not any(fnmatch.fnmatchcase(app.name, g) for g in window.apps):
        return False
    if any(app.labels.get(k) != v for k, v in window.selector.items()):
        return False
    return not window.clusters or app.cluster in window.clusters


def windows_for(app: Application, agent_windows: Sequence[SyncWindow]) -> list[SyncWindow]:
    return [w for w in agent_windows if selects(w, app)] + list(app.sync_windows)


@dataclass(frozen=True)
class Closed:
    """Why a sync may not run now, and until when (None: no opening ahead)."""

    window: SyncWindow
    until: datetime | None

    @property
    def message(self) -> str:
        when = self.until.strftime("%Y-%m-%dT%H:%M:%SZ") if self.until else "no opening ahead"
        return f"Sync deferred by window {describe(self.window)} until {when}"


def closed(
    app: Application, agent_windows: Sequence[SyncWindow], now: datetime, *, manual: bool = False
) -> Closed | None:
    """None when ``app`` may sync at ``now`` (timezone-aware), else the
    window that keeps it from syncing and when that ends."""
    windows = windows_for(app, agent_windows)
    denying = [(w, end) for w in windows if w.kind == "deny" and (end := open_until(w, now)) is not None]
    if denying:
        if manual and all(w.manual_sync for w, _ in denying):
            return None
        window, end = max(denying, key=lambda we: we[1])
        return Closed(window, end)
    allows = [w for w in windows if w.kind == "allow"]
    if not allows or any(open_until(w, now) is not None for w in allows):
        return None
    if manual and any(w.manual_sync for w in allows):
        return None
    ahead = [(w, t) for w in allows if (t := next_opening(w, now)) is not None]
    window, start = min(ahead, key=lambda wt: wt[1]) if ahead else (allows[0], None)
    return Closed(window, start)


__all__ = ["Closed", "closed", "describe", "next_opening", "open_until", "selects", "trigger", "windows_for"]
