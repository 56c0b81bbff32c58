from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.health import aggregate, assess
from agent.models import HealthStatus

FIXTURES = Path(__file__).parent / "fixtures" / "health"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.stem)
def test_health_fixture(path: Path) -> None:
    expected = path.stem.rsplit("-", 1)[1]
    assert assess(yaml.safe_load(path.read_text())).label.lower() == expected


def test_missing_and_aggregate() -> None:
    assert assess(None) is HealthStatus.MISSING
    assert aggregate([HealthStatus.HEALTHY, HealthStatus.PROGRESSING]) is HealthStatus.PROGRESSING
