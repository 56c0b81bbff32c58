"""The test-only clock skew of a replica (``GITOPS_AGENT_CLOCK_SKEW_SECONDS``)."""

from __future__ import annotations

import pytest

from agent.errors import AgentError
from agent.ha.lease import CLOCK_SKEW, clock_skew


def test_the_skew_is_read_in_seconds_and_absent_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CLOCK_SKEW, raising=False)
    assert clock_skew() == 0.0
    monkeypatch.setenv(CLOCK_SKEW, "-5")
    assert clock_skew() == -5.0
    monkeypatch.setenv(CLOCK_SKEW, " 2.5 ")
    assert clock_skew() == 2.5


def test_a_skew_that_is_not_a_number_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLOCK_SKEW, "5s")
    with pytest.raises(AgentError) as e:
        clock_skew()
    assert str(e.value) == "GITOPS_AGENT_CLOCK_SKEW_SECONDS must be a number of seconds, not '5s'"
