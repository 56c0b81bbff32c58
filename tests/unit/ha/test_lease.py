"""Lease records as written: MicroTime in the one layout the API server
parses, names every value maps to without collisions, the record's round trip."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from agent.ha import LeaseRecord, claim_lease, member_lease, micro_time, parse_micro_time
from agent.ha.members import capacity_of

# the API server parses MicroTime with Go's "2006-01-02T15:04:05.000000Z07:00" and
# refuses anything else (fewer digits, nanoseconds, no fraction)
GO_MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def test_micro_time_is_what_the_api_server_parses() -> None:
    moments = [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC),
        datetime(2026, 1, 2, 4, 4, 5, 7, tzinfo=timezone(timedelta(hours=1))),
    ]
    written = [micro_time(m) for m in moments]
    assert all(GO_MICRO_TIME.match(w) for w in written), written
    assert written[0] == "2026-01-02T03:04:05.000000Z"
    assert written[2] == "2026-01-02T03:04:05.000007Z"  # in UTC
    assert [parse_micro_time(w) for w in written] == moments
    assert parse_micro_time("yesterday") is None and parse_micro_time("") is None


def test_names_are_valid_and_distinct() -> None:
    values = ["web", "Web", "team/web", "team-web", "a" * 300, "a" * 301, "ünïcode", ".", ""]
    names = [claim_lease(v) for v in values]
    assert len(set(names)) == len(values)
    assert all(len(n) <= 253 and DNS_SUBDOMAIN.match(n) for n in names), names
    assert claim_lease("web") == "gitops-agent-app-web"  # readable when nothing needs changing
    assert member_lease("host-1234") == "gitops-agent-member-host-1234"


def test_a_record_round_trips_through_a_lease() -> None:
    record = LeaseRecord(
        "a",
        10,
        "2026-01-01T00:00:00.000000Z",
        "2026-01-01T00:00:02.000000Z",
        3,
        {"gitops-agent.io/capacity": "2"},
    )
    obj = {"metadata": {"annotations": {**record.annotations, "other.io/x": "y"}}, "spec": record.spec()}
    assert LeaseRecord.of(obj) == record  # annotations of others are not the record's
    assert "holderIdentity" not in LeaseRecord(duration=1).spec()  # released: no holder at all


def test_capacity_is_read_leniently() -> None:
    assert capacity_of({}) == 1.0
    assert capacity_of({"gitops-agent.io/capacity": "2.5"}) == 2.5
    assert capacity_of({"gitops-agent.io/capacity": "lots"}) == 1.0
    assert capacity_of({"gitops-agent.io/capacity": "-3"}) == 0.0
