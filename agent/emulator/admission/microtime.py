"""``metav1.MicroTime`` as the API server decodes it: Go's ``time.Parse``
with the layout ``2006-01-02T15:04:05.000000Z07:00`` (RFC 3339 with exactly
six fraction digits), and Go's words when it fails (``cannot parse ".123Z"
as ".000000"``, ``month out of range``), which the API server answers as a
400 (the object cannot be decoded) before any validation.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable

LAYOUT = "2006-01-02T15:04:05.000000Z07:00"
# (layout element, fixed width or None for Go's one-or-two digits, range name, lowest, highest)
_NUMBERS = {
    "01": (2, "month", 1, 12),
    "02": (2, "day", 0, 31),
    "15": (None, "hour", 0, 23),
    "04": (2, "minute", 0, 59),
    "05": (2, "second", 0, 59),
}
_ELEMENTS = ("2006", "-", "01", "-", "02", "T", "15", ":", "04", ":", "05", ".000000", "Z07:00")


class MicroTimeError(ValueError):
    """Go's message for a value that does not parse."""


def _number(value: str, width: int | None) -> tuple[int, str] | None:
    digits = 0
    while digits < 2 and digits < len(value) and value[digits].isdigit():
        digits += 1
    if digits == 0 or (width == 2 and digits < 2):
        return None
    return int(value[:digits]), value[digits:]


def _zone(value: str) -> str | None:
    if value.startswith("Z"):
        return value[1:]
    zone = value[:6]
    if len(zone) < 6 or zone[0] not in "+-" or zone[3] != ":" or not (zone[1:3] + zone[4:6]).isdigit():
        return None
    return value[6:]


def _year(value: str, found: dict[str, int]) -> str | None:
    year = value[:4]
    if len(year) < 4 or not year.isdigit():
        return None
    found["year"] = int(year)
    return value[4:]


def _fraction(value: str, _: dict[str, int]) -> str | None:
    fraction = value[:7]
    if len(fraction) < 7 or fraction[0] not in ".," or not fraction[1:].isdigit():
        return None
    return value[7:]


def _numeric(element: str) -> Callable[[str, dict[str, int]], str | None]:
    width, name, low, high = _NUMBERS[element]

    def parse(value: str, found: dict[str, int]) -> str | None:
        got = _number(value, width)
        if got is None:
            return None
        number, rest = got
        if not low <= number <= high:
            raise MicroTimeError(f"{name} out of range")
        found[name] = number
        return rest

    return parse


_PARSERS: dict[str, Callable[[str, dict[str, int]], str | None]] = {
    "2006": _year,
    ".000000": _fraction,
    "Z07:00": lambda value, _: _zone(value),
    **{element: _numeric(element) for element in _NUMBERS},
}


def _step(element: str, value: str, found: dict[str, int]) -> str | None:
    """``value`` after ``element``, or None when it does not parse there."""
    parser = _PARSERS.get(element)
    if parser is not None:
        return parser(value, found)
    return value[len(element) :] if value.startswith(element) else None


def check(text: str) -> None:
    """Nothing when ``text`` parses as a MicroTime; else MicroTimeError with
    what Go's parser says after ``parsing time "..."``."""
    quoted = json.dumps(text)
    value, found = text, dict[str, int]()
    try:
        for element in _ELEMENTS:
            rest = _step(element, value, found)
            if rest is None:
                raise MicroTimeError(
                    f"as {json.dumps(LAYOUT)}: cannot parse {json.dumps(value)} as {json.dumps(element)}"
                )
            value = rest
        if value:
            raise MicroTimeError(f"extra text: {json.dumps(value)}")
        if not 1 <= found["day"] <= calendar.monthrange(found["year"], found["month"])[1]:
            raise MicroTimeError("day out of range")
    except MicroTimeError as e:
        detail = str(e)
        sep = " " if detail.startswith("as ") else ": "
        raise MicroTimeError(f"parsing time {quoted}{sep}{detail}") from None


__all__ = ["LAYOUT", "MicroTimeError", "check"]
