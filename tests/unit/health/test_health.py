"""One case per YAML fixture: ``<kind>[-<variant>]-<expected status>.yaml``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.health import aggregate, assess
from agent.models import HealthStatus

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.stem)
def test_health_fixture(path: Path) -> None:
    expected = path.stem.rsplit("-", 1)[1]
    health = assess(yaml.safe_load(path.read_text()))
    assert health.status.label.lower() == expected, health.message


def test_degraded_deployment_says_why() -> None:
    obj = yaml.safe_load((FIXTURES / "deployment-degraded.yaml").read_text())
    assert "progress deadline" in assess(obj).message


def test_missing_and_aggregate() -> None:
    assert assess(None).status is HealthStatus.MISSING
    assert aggregate([HealthStatus.HEALTHY, HealthStatus.PROGRESSING]) is HealthStatus.PROGRESSING
    assert aggregate([HealthStatus.DEGRADED, HealthStatus.MISSING]) is HealthStatus.DEGRADED


def test_every_kind_the_issue_names_has_a_fixture() -> None:
    kinds = {p.stem.split("-", 1)[0] for p in FIXTURES.glob("*.yaml")}
    for kind in (
        "deployment",
        "statefulset",
        "daemonset",
        "replicaset",
        "pod",
        "job",
        "cronjob",
        "persistentvolumeclaim",
        "service",
        "ingress",
        "horizontalpodautoscaler",
        "customresourcedefinition",
        "namespace",
        "widget",
    ):
        assert kind in kinds
