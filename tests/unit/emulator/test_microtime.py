"""MicroTime as the API server decodes it (Go's time.Parse, RFC 3339 with six
fraction digits); the differential test compares the same against the real server."""

from __future__ import annotations

import pytest

from agent.emulator.admission.microtime import MicroTimeError, check


@pytest.mark.parametrize("good", ["2026-12-08T01:02:03.123456Z", "2024-02-29T23:59:59.000000-05:30"])
def test_six_fraction_digits_and_a_zone_parse(good: str) -> None:
    check(good)


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        ("2026-02-30T01:02:03.123456Z", 'parsing time "2026-02-30T01:02:03.123456Z": day out of range'),
        ("2026-12-08T24:02:03.123456Z", 'parsing time "2026-12-08T24:02:03.123456Z": hour out of range'),
        (
            "2026-12-08T01:02:03.1234567Z",
            'parsing time "2026-12-08T01:02:03.1234567Z" as "2006-01-02T15:04:05.000000Z07:00": '
            'cannot parse "7Z" as "Z07:00"',
        ),
        (
            "2026-12-08T01:02:03.123456Zjunk",
            'parsing time "2026-12-08T01:02:03.123456Zjunk": extra text: "junk"',
        ),
        (
            "2026/12/08T01:02:03.123456Z",
            'parsing time "2026/12/08T01:02:03.123456Z" as "2006-01-02T15:04:05.000000Z07:00": '
            'cannot parse "/12/08T01:02:03.123456Z" as "-"',
        ),
    ],
)
def test_what_does_not_parse_is_said_as_go_says_it(bad: str, said: str) -> None:
    with pytest.raises(MicroTimeError) as e:
        check(bad)
    assert str(e.value) == said
