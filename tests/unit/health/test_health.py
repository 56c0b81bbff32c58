"""One case per YAML fixture: ``<kind>[-<variant>]-<expected status>.yaml``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.health import aggregate, assess
from agent.health.custom import TABLE
from agent.models import HealthStatus

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("path", sorted(FIXTURES.rglob("*.yaml")), ids=lambda p: p.stem)
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


def test_every_custom_rule_has_a_fixture() -> None:
    covered = set()
    for path in (FIXTURES / "custom").glob("*.yaml"):
        obj = yaml.safe_load(path.read_text())
        covered.add((str(obj["apiVersion"]).rpartition("/")[0], obj["kind"]))
    assert set(TABLE) - covered == {
        ("source.toolkit.fluxcd.io", "HelmChart"),
        ("source.toolkit.fluxcd.io", "Bucket"),
        ("pkg.crossplane.io", "Configuration"),
        ("pkg.crossplane.io", "Function"),
        ("cluster.x-k8s.io", "MachineSet"),
        ("gateway.networking.k8s.io", "TLSRoute"),
        ("gateway.networking.k8s.io", "TCPRoute"),
        ("kafka.strimzi.io", "KafkaConnect"),
        ("monitoring.coreos.com", "ThanosRuler"),
        ("monitoring.coreos.com", "PodMonitor"),
        ("monitoring.coreos.com", "PrometheusRule"),
        ("networking.istio.io", "Gateway"),
        ("networking.istio.io", "ServiceEntry"),
        ("serving.knative.dev", "Revision"),
    }  # kinds that share a rule row with a kind that has fixtures


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("custom/certificate-failed-degraded", "Issuing=False (Failed)"),
        ("custom/bucket-crossplane-references-progressing", "cannot resolve references"),
        ("custom/rollout-aborted-degraded", "RolloutAborted"),
        ("custom/httproute-backendnotfound-degraded", "BackendNotFound"),
        ("widget-stalled-degraded", "gave up"),
        ("pod-errored-degraded", "exited with code 1"),
    ],
)
def test_verdict_names_its_reason(name: str, words: str) -> None:
    obj = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    assert words in assess(obj).message
