"""The planner (pure): desired, live and owned objects in; ordered steps out.

Order follows what must exist before what uses it: CRDs, Namespaces,
cluster-wide RBAC, ServiceAccounts, namespaced RBAC, Secrets, ConfigMaps,
storage, workloads, other kinds (custom resources), then Services and
Ingresses.  Prune steps come last, in the reverse order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent.diff import diff_object
from agent.models import Action, DiffStatus, Manifest, ObjectKey, ResourceDiff
from agent.sync.ownership import owner_of, prune_disabled

KIND_ORDER: tuple[str, ...] = (
    "CustomResourceDefinition",
    "Namespace",
    "PriorityClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "LimitRange",
    "ResourceQuota",
    "DaemonSet",
    "Deployment",
    "StatefulSet",
    "ReplicaSet",
    "Pod",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "",  # anything not listed (custom resources) goes here
    "Service",
    "IngressClass",
    "Ingress",
)
_RANK = {kind: i for i, kind in enumerate(KIND_ORDER)}


def rank(key: ObjectKey) -> tuple[int, str, str, str]:
    return (_RANK.get(key.kind, _RANK[""]), key.kind, key.namespace, key.name)


@dataclass(frozen=True)
class Step:
    key: ObjectKey
    action: Action
    diff: ResourceDiff
    api_version: str
    desired: Mapping[str, Any] | None = None  # stamped object to write
    live: Mapping[str, Any] | None = None
    reason: str = ""  # why a step is skipped or failed


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    refusal: str | None = None  # the whole plan must not run, and why

    @property
    def writes(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.action in (Action.CREATED, Action.CONFIGURED, Action.PRUNED))

    @property
    def conflicts(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.action is Action.FAILED)


def plan(
    desired: Sequence[Manifest],
    live: Mapping[ObjectKey, Mapping[str, Any]],
    owned: Mapping[ObjectKey, str],
    *,
    owner: str,
    prune: bool,
    allow_empty: bool = False,
) -> Plan:
    """``desired`` are stamped manifests; ``live`` maps keys to live objects
    (desired ones and owned ones); ``owned`` maps the keys this app owns
    (its last inventory and live objects carrying its marks) to their
    apiVersion."""
    steps: list[Step] = []
    wanted = {m.key for m in desired}
    for m in sorted(desired, key=lambda m: rank(m.key)):
        current = live.get(m.key)
        diff = diff_object(m.key, m.obj, current)
        if current is not None and owner_of(current) not in (None, owner):
            steps.append(
                Step(
                    m.key,
                    Action.FAILED,
                    diff,
                    m.api_version,
                    m.obj,
                    current,
                    f"{m.key} is managed by {owner_of(current)}; not overwritten",
                )
            )
            continue
        if current is not None and owner_of(current) is None:
            steps.append(
                Step(
                    m.key,
                    Action.FAILED,
                    diff,
                    m.api_version,
                    m.obj,
                    current,
                    f"{m.key} already exists and is not managed by gitops-agent; not adopted",
                )
            )
            continue
        action = {DiffStatus.MISSING: Action.CREATED, DiffStatus.MODIFIED: Action.CONFIGURED}.get(
            diff.status, Action.UNCHANGED
        )
        steps.append(Step(m.key, action, diff, m.api_version, m.obj, current))

    extraneous = sorted((k for k in owned if k not in wanted and k in live), key=rank, reverse=True)
    for key in extraneous:
        current = live[key]
        diff = diff_object(key, None, current)
        if owner_of(current) != owner:
            continue  # marks changed hands since the last inventory: not ours to prune
        if not prune:
            steps.append(Step(key, Action.SKIPPED, diff, owned[key], None, current, "prune is off"))
        elif prune_disabled(current):
            steps.append(
                Step(
                    key,
                    Action.SKIPPED,
                    diff,
                    owned[key],
                    None,
                    current,
                    "annotated gitops-agent.io/prune: disabled",
                )
            )
        else:
            steps.append(Step(key, Action.PRUNED, diff, owned[key], None, current))

    refusal = None
    if not desired and any(s.action is Action.PRUNED for s in steps) and not allow_empty:
        refusal = (
            "the render produced no objects and pruning would delete everything this app owns; "
            "refused (check the app's path, or allow empty renders explicitly)"
        )
    return Plan(tuple(steps), refusal)
