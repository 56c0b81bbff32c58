"""Custom resources people run: a table of rules, written from each project's status API.

Most controllers follow the kstatus conventions (:mod:`.generic`) and need
only a few facts on top: which condition means ready, which reasons are
final, where the kind says it is suspended, or a phase field.  A
:class:`Rule` holds those facts; the handful of kinds that need more (a
Gateway's route parents, a Rollout's abort) name a check in
:mod:`.custom_checks`.  Sources: each project's CRD reference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from agent.health import custom_checks as checks
from agent.health.core import Health, Obj, conditions, healthy, progressing, suspended
from agent.health.core import field as at
from agent.health.generic import TERMINAL_REASONS, conditions_verdict
from agent.health.workloads import daemonset
from agent.models import HealthStatus

H, P, D, S = HealthStatus.HEALTHY, HealthStatus.PROGRESSING, HealthStatus.DEGRADED, HealthStatus.SUSPENDED
_EMPTY: Mapping[str, HealthStatus] = MappingProxyType({})


@dataclass(frozen=True)
class Rule:
    """What a kind adds to the condition semantics, checked in this order."""

    suspend: str = ""  # a dotted path whose truthy value means Suspended
    check: Callable[[Obj], Health | None] | None = None  # the kind's own check, when it needs one
    failed: tuple[tuple[str, str], ...] = ()  # (condition, status) pairs that mean Degraded
    phase: str = ""  # a dotted path to a phase field ...
    phases: Mapping[str, HealthStatus] = field(default_factory=lambda: _EMPTY)  # ... and what its values mean
    ready: tuple[str, ...] = ("Ready",)  # the conditions whose True means Healthy
    terminal: frozenset[str] = frozenset()  # reasons, beyond the common ones, that are final
    false_is_failure: bool = False  # the kind sets False only on failure (Unknown while working)
    required: bool = False  # no phase and no ready condition yet: Progressing, not Healthy


def evaluate(rule: Rule, obj: Obj) -> Health:
    if rule.suspend and at(obj, rule.suspend) is True:
        return suspended(f"{rule.suspend} is true")
    decided = rule.check(obj) if rule.check is not None else None
    if decided is not None:
        return decided
    conds = conditions(obj)
    for kind, state in rule.failed:
        cond = conds.get(kind) or {}
        if str(cond.get("status")) == state:
            why = cond.get("message") or cond.get("reason") or ""
            return Health(D, f"{kind}={state}" + (f": {why}" if why else ""))
    return _by_phase_or_conditions(rule, obj)


def _by_phase_or_conditions(rule: Rule, obj: Obj) -> Health:
    phase = at(obj, rule.phase) if rule.phase else None
    if isinstance(phase, str) and phase in rule.phases:
        return Health(rule.phases[phase], f"phase {phase}")
    verdict = conditions_verdict(
        obj, rule.ready, TERMINAL_REASONS | rule.terminal, false_is_failure=rule.false_is_failure
    )
    if verdict is not None:
        return verdict
    if rule.required:
        return progressing(f"phase {phase}" if phase else "waiting for the controller to report status")
    return healthy()


_REQUIRED = Rule(required=True)  # the controller always publishes Ready: none yet is progress
_FLUX = Rule(suspend="spec.suspend", required=True)
_KNATIVE = Rule(false_is_failure=True, required=True)
_KEDA = Rule(check=checks.keda, false_is_failure=True, required=True)
_STRIMZI = Rule(check=checks.strimzi, false_is_failure=True, required=True)
_PROM = Rule(ready=("Available",), failed=(("Reconciled", "False"),), required=True)
_MONITOR = Rule(check=checks.monitor_bindings)
_ISTIO = Rule(check=checks.istio_validation)
_CAPI = Rule(
    suspend="spec.paused",
    check=checks.cluster_api,
    phases={"Failed": D},
    phase="status.phase",
    ready=("Ready", "Available"),
    required=True,
)
_ROUTE = Rule(check=checks.route)
_PKG = Rule(check=checks.crossplane_package, ready=("Healthy",), false_is_failure=True, required=True)
_ARGO_RUN = Rule(
    phase="status.phase",
    required=True,
    phases={"Pending": P, "Running": P, "Successful": H, "Failed": D, "Error": D, "Inconclusive": S},
)
_TEKTON = Rule(check=checks.tekton_pending, ready=("Succeeded",), false_is_failure=True, required=True)
_VELERO = Rule(
    phase="status.phase",
    required=True,
    phases={
        "New": P,
        "InProgress": P,
        "WaitingForPluginOperations": P,
        "WaitingForPluginOperationsPartiallyFailed": P,
        "Finalizing": P,
        "FinalizingPartiallyFailed": P,
        "Completed": H,
        "Failed": D,
        "PartiallyFailed": D,
        "FailedValidation": D,
    },
)
_KRUISE_PAUSED = "spec.updateStrategy.rollingUpdate.paused"
_ESO_STORE = Rule(
    terminal=frozenset({"InvalidProviderConfig", "InvalidStoreConfiguration", "ValidationFailed"}),
    required=True,
)
_KUBEVIRT_VM = Rule(
    phase="status.printableStatus",
    required=True,
    phases={
        "Running": H,
        "Stopped": S,
        "Paused": S,
        "Provisioning": P,
        "Starting": P,
        "Stopping": P,
        "Terminating": P,
        "Migrating": P,
        "WaitingForVolumeBinding": P,
        "WaitingForReceiver": P,
        "ErrorUnschedulable": D,
        "ErrImagePull": D,
        "ImagePullBackOff": D,
        "CrashLoopBackOff": D,
        "ErrorPvcNotFound": D,
        "ErrorDataVolumeNotFound": D,
        "DataVolumeError": D,
        "Unknown": P,
    },
)
_KUBEVIRT_VMI = Rule(
    phase="status.phase",
    required=True,
    phases={
        "Pending": P,
        "Scheduling": P,
        "Scheduled": P,
        "Succeeded": H,
        "Failed": D,
        "Unknown": P,
    },
)

TABLE: dict[tuple[str, str], Rule] = {
    # cert-manager: Ready=False while issuing (DoesNotExist, Issuing) is progress.
    ("cert-manager.io", "Certificate"): Rule(check=checks.certificate, required=True),
    ("cert-manager.io", "CertificateRequest"): Rule(
        failed=(("InvalidRequest", "True"), ("Denied", "True")),
        terminal=frozenset({"Failed", "Denied"}),
        required=True,
    ),
    ("cert-manager.io", "Issuer"): _REQUIRED,
    ("cert-manager.io", "ClusterIssuer"): _REQUIRED,
    # Argo Rollouts
    ("argoproj.io", "Rollout"): Rule(check=checks.rollout, ready=("Available",), required=True),
    ("argoproj.io", "AnalysisRun"): _ARGO_RUN,
    ("argoproj.io", "Experiment"): _ARGO_RUN,
    # Flux: kstatus-compliant; spec.suspend pauses them.
    ("kustomize.toolkit.fluxcd.io", "Kustomization"): _FLUX,
    ("helm.toolkit.fluxcd.io", "HelmRelease"): _FLUX,
    ("source.toolkit.fluxcd.io", "GitRepository"): _FLUX,
    ("source.toolkit.fluxcd.io", "OCIRepository"): _FLUX,
    ("source.toolkit.fluxcd.io", "HelmRepository"): _FLUX,
    ("source.toolkit.fluxcd.io", "HelmChart"): _FLUX,
    ("source.toolkit.fluxcd.io", "Bucket"): _FLUX,
    # Crossplane packages and definitions (managed resources, XRs and claims: by their Synced condition)
    ("pkg.crossplane.io", "Provider"): _PKG,
    ("pkg.crossplane.io", "Configuration"): _PKG,
    ("pkg.crossplane.io", "Function"): _PKG,
    ("apiextensions.crossplane.io", "Composition"): Rule(),
    ("apiextensions.crossplane.io", "CompositeResourceDefinition"): Rule(ready=("Established",)),
    # Cluster API: conditions carry a severity; failureReason/failureMessage are final.
    ("cluster.x-k8s.io", "Cluster"): _CAPI,
    ("cluster.x-k8s.io", "Machine"): _CAPI,
    ("cluster.x-k8s.io", "MachineSet"): _CAPI,
    ("cluster.x-k8s.io", "MachineDeployment"): _CAPI,
    ("controlplane.cluster.x-k8s.io", "KubeadmControlPlane"): _CAPI,
    # Gateway API
    ("gateway.networking.k8s.io", "Gateway"): Rule(check=checks.gateway),
    ("gateway.networking.k8s.io", "HTTPRoute"): _ROUTE,
    ("gateway.networking.k8s.io", "GRPCRoute"): _ROUTE,
    ("gateway.networking.k8s.io", "TLSRoute"): _ROUTE,
    ("gateway.networking.k8s.io", "TCPRoute"): _ROUTE,
    # external-secrets
    ("external-secrets.io", "ExternalSecret"): Rule(terminal=frozenset({"SecretSyncedError"}), required=True),
    ("external-secrets.io", "SecretStore"): _ESO_STORE,
    ("external-secrets.io", "ClusterSecretStore"): _ESO_STORE,
    # KEDA: Ready=Unknown until the first check, False when a check fails.
    ("keda.sh", "ScaledObject"): _KEDA,
    ("keda.sh", "ScaledJob"): _KEDA,
    # Strimzi: NotReady while creating, Ready=False or NotReady with an error reason on failure.
    ("kafka.strimzi.io", "Kafka"): _STRIMZI,
    ("kafka.strimzi.io", "KafkaTopic"): _STRIMZI,
    ("kafka.strimzi.io", "KafkaUser"): _STRIMZI,
    ("kafka.strimzi.io", "KafkaConnect"): _STRIMZI,
    # Prometheus Operator
    ("monitoring.coreos.com", "Prometheus"): _PROM,
    ("monitoring.coreos.com", "Alertmanager"): _PROM,
    ("monitoring.coreos.com", "ThanosRuler"): _PROM,
    ("monitoring.coreos.com", "ServiceMonitor"): _MONITOR,
    ("monitoring.coreos.com", "PodMonitor"): _MONITOR,
    ("monitoring.coreos.com", "PrometheusRule"): _MONITOR,
    # Istio: the analyzer's validation messages
    ("networking.istio.io", "VirtualService"): _ISTIO,
    ("networking.istio.io", "DestinationRule"): _ISTIO,
    ("networking.istio.io", "Gateway"): _ISTIO,
    ("networking.istio.io", "ServiceEntry"): _ISTIO,
    # Knative Serving: Ready=Unknown while reconciling, False on failure.
    ("serving.knative.dev", "Service"): _KNATIVE,
    ("serving.knative.dev", "Route"): _KNATIVE,
    ("serving.knative.dev", "Configuration"): _KNATIVE,
    ("serving.knative.dev", "Revision"): _KNATIVE,
    # CloudNativePG
    ("postgresql.cnpg.io", "Cluster"): Rule(
        phase="status.phase", phases={"Cluster in healthy state": H}, required=True
    ),
    # KubeVirt
    ("kubevirt.io", "VirtualMachine"): _KUBEVIRT_VM,
    ("kubevirt.io", "VirtualMachineInstance"): _KUBEVIRT_VMI,
    # OpenKruise
    ("apps.kruise.io", "CloneSet"): Rule(suspend="spec.updateStrategy.paused", check=checks.kruise_replicas),
    ("apps.kruise.io", "StatefulSet"): Rule(suspend=_KRUISE_PAUSED, check=checks.kruise_replicas),
    ("apps.kruise.io", "DaemonSet"): Rule(
        suspend="spec.updateStrategy.rollingUpdate.paused", check=daemonset
    ),
    # Tekton: the Succeeded condition (Unknown while running)
    ("tekton.dev", "PipelineRun"): _TEKTON,
    ("tekton.dev", "TaskRun"): _TEKTON,
    # Velero
    ("velero.io", "Backup"): _VELERO,
    ("velero.io", "Restore"): _VELERO,
}


_CROSSPLANE_GROUPS = (".upbound.io", ".crossplane.io")


def assess_custom(obj: Obj, group: str, kind: str) -> Health:
    """A custom resource: its rule from the table, or the condition semantics."""
    rule = TABLE.get((group, kind))
    if rule is not None:
        return evaluate(rule, obj)
    # Crossplane managed resources (the providers' groups), composite resources and claims
    if "Synced" in conditions(obj) or group.endswith(_CROSSPLANE_GROUPS):
        return checks.crossplane_resource(obj)
    return conditions_verdict(obj) or healthy()
