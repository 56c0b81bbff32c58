"""Cron schedules of sync windows, read by APScheduler's ``CronTrigger``.

Cron's five fields (and its ``@daily``-style macros) as Argo CD's windows
write them; the only translation is the day of the week, which APScheduler 3
counts from Monday where cron counts from Sunday (0 and 7).  Here, in the
configuration's layer, so a schedule cron would not read is refused when
``agent.yaml`` is read; APScheduler is imported only when a window exists.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day(token: str) -> int:
    text = token.strip().lower()
    if text[:3] in _DAYS and len(text) == 3:
        return _DAYS.index(text)
    if not text.isdigit() or not 0 <= (value := int(text)) <= 7:
        raise ValueError(f"day of the week {token!r} is not 0-7 or a name (sun, mon, ...)")
    return value


def _weekdays(field: str) -> str:
    """Cron's day-of-week field (0 or 7 = Sunday, names, ranges, steps) as
    day names, which APScheduler reads without numbering them."""
    days: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            lo, hi = 0, 6
        elif "-" in base:
            first, _, last = base.partition("-")
            lo, hi = _day(first), _day(last)
        else:
            lo = _day(base)
            hi = 6 if step_text else lo
        if step < 1 or hi < lo:
            raise ValueError(f"day of the week {part!r} is not a range cron knows")
        days.update(n % 7 for n in range(lo, hi + 1, step))
    return "*" if len(days) == 7 else ",".join(_DAYS[n] for n in sorted(days))


@lru_cache(maxsize=256)
def cron_trigger(schedule: str, time_zone: str) -> CronTrigger:
    """The schedule as a CronTrigger in ``time_zone``; ValueError saying
    what cron would not read."""
    from apscheduler.triggers.cron import CronTrigger  # noqa: PLC0415 - only where windows exist

    fields = _MACROS.get(schedule.strip(), schedule).split()
    if len(fields) != 5:
        raise ValueError("five fields are needed: minute hour day month weekday")
    minute, hour, day, month, weekday = (f.replace("?", "*") for f in fields)
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=_weekdays(weekday), timezone=time_zone
    )
