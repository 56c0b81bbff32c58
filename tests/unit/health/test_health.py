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


def _verdicts_by_kind() -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for path in (FIXTURES / "custom").glob("*.yaml"):
        obj = yaml.safe_load(path.read_text())
        kind = (str(obj["apiVersion"]).rpartition("/")[0], obj["kind"])
        found.setdefault(kind, set()).add(path.stem.rsplit("-", 1)[1])
    return found


def test_every_custom_rule_has_a_fixture() -> None:
    covered = set(_verdicts_by_kind())
    assert set(TABLE) - covered == set()


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("custom/certificate-failed-degraded", "Issuing=False (Failed)"),
        ("custom/bucket-crossplane-references-progressing", "cannot resolve references"),
        ("custom/rollout-aborted-degraded", "RolloutAborted"),
        ("custom/httproute-backendnotfound-degraded", "BackendNotFound"),
        ("widget-stalled-degraded", "gave up"),
        ("pod-errored-degraded", "exited with code 1"),
        ("custom/tcproute-refnotpermitted-degraded", "ResolvedRefs=False (RefNotPermitted)"),
        ("custom/machineset-capi-failed-degraded", "AWSMachineTemplate/capi/workers not found"),
        ("custom/revision-knative-missing-degraded", "ContainerMissing"),
        ("custom/thanosruler-somepodsnotready-progressing", "1/2 pods are not ready"),
        ("custom/gateway-istio-invalid-degraded", "IST0101 ReferencedResourceNotFound"),
    ],
)
def test_verdict_names_its_reason(name: str, words: str) -> None:
    obj = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    assert words in assess(obj).message


@pytest.mark.parametrize(
    ("kind", "verdicts"),
    [
        (("source.toolkit.fluxcd.io", "HelmChart"), {"healthy", "progressing", "degraded", "suspended"}),
        (("source.toolkit.fluxcd.io", "Bucket"), {"healthy", "progressing", "degraded", "suspended"}),
        (("pkg.crossplane.io", "Configuration"), {"healthy", "progressing", "degraded"}),
        (("pkg.crossplane.io", "Function"), {"healthy", "progressing", "degraded"}),
        (("cluster.x-k8s.io", "MachineSet"), {"healthy", "progressing", "degraded"}),
        (("gateway.networking.k8s.io", "TLSRoute"), {"healthy", "progressing", "degraded"}),
        (("gateway.networking.k8s.io", "TCPRoute"), {"healthy", "progressing", "degraded"}),
        (("kafka.strimzi.io", "KafkaConnect"), {"healthy", "progressing", "degraded"}),
        (("monitoring.coreos.com", "ThanosRuler"), {"healthy", "progressing", "degraded"}),
        (("monitoring.coreos.com", "PodMonitor"), {"healthy", "degraded"}),
        (("monitoring.coreos.com", "PrometheusRule"), {"healthy", "degraded"}),
        (("networking.istio.io", "Gateway"), {"healthy", "degraded"}),
        (("networking.istio.io", "ServiceEntry"), {"healthy", "degraded"}),
        (("serving.knative.dev", "Revision"), {"healthy", "progressing", "degraded"}),
    ],
    ids=lambda v: v[1] if isinstance(v, tuple) else "",
)
def test_kinds_sharing_a_rule_row_have_their_own_fixture_per_verdict(
    kind: tuple[str, str], verdicts: set[str]
) -> None:
    """The kinds that share a table row with another have fixtures of their
    own, for each verdict their controller reports (monitors and Istio's
    objects have no progress of their own: accepted or not, valid or not)."""
    assert _verdicts_by_kind()[kind] >= verdicts
