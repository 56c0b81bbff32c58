"""The planner (pure): desired, live and owned objects in; ordered steps out.

Order follows what must exist before what uses it: CRDs, Namespaces,
cluster-wide RBAC, ServiceAccounts, namespaced RBAC, Secrets, ConfigMaps,
storage, workloads, other kinds (custom resources), then Services and
Ingresses; that order applies within each sync wave, and waves and hooks
(:mod:`agent.sync.waves`) come first.  Prune steps come last, in the
reverse order (highest wave first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Required, TypedDict, Unpack

from agent.diff import DiffOptions, IgnoreRule, diff_object, ignored_for, keep_live_values
from agent.models import (
    Action,
    ChangeKind,
    ChangeSet,
    ChangeSetEntry,
    DiffStatus,
    Manifest,
    ObjectKey,
    ResourceDiff,
)
from agent.results import Failure, Stage
from agent.sync.ownership import generated, owner_of, prune_disabled
from agent.sync.waves import AnnotationError, Hook, Phase, hook_of, wave_of

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
    wave: int = 0
    hook: Hook | None = None  # set for hook objects (run around the sync, never inventoried)
    overwrite: bool = False  # write the whole object (strict mode: remove what others added)

    @property
    def phase(self) -> Phase:
        return self.hook.phase if self.hook is not None else Phase.SYNC


@dataclass(frozen=True)
class Batch:
    """Steps that run together: one wave of one phase.  The engine waits for
    a batch to be healthy (hooks: complete) before starting the next."""

    phase: Phase
    wave: int
    steps: tuple[Step, ...]


_PHASE_ORDER = {Phase.PRE_SYNC: 0, Phase.SYNC: 1, Phase.POST_SYNC: 2, Phase.SYNC_FAIL: 3}


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

    @property
    def resources(self) -> tuple[Step, ...]:
        """Steps of the app's own objects (not hooks): what drift is about."""
        return tuple(s for s in self.steps if s.hook is None)

    def batches(self) -> tuple[Batch, ...]:
        """Apply batches in execution order: PreSync hooks, the app's objects
        and Sync hooks, PostSync hooks, each by wave; then prunes.  SyncFail
        hooks are not included (see :meth:`on_failure`).  Linear in the steps:
        each batch's steps are gathered in a list and made a tuple once."""
        runs: list[tuple[Phase, int, list[Step]]] = []
        for step in self.steps:
            if step.phase is Phase.SYNC_FAIL or step.action is Action.PRUNED:
                continue
            if runs and runs[-1][:2] == (step.phase, step.wave):
                runs[-1][2].append(step)
            else:
                runs.append((step.phase, step.wave, [step]))
        out = [Batch(phase, wave, tuple(steps)) for phase, wave, steps in runs]
        prunes = tuple(s for s in self.steps if s.action is Action.PRUNED)
        if prunes:
            out.append(Batch(Phase.SYNC, prunes[0].wave, prunes))
        return tuple(out)

    def on_failure(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.phase is Phase.SYNC_FAIL)


def _order(step: Step) -> tuple[int, int, tuple[int, str, str, str]]:
    return (_PHASE_ORDER[step.phase], step.wave, rank(step.key))


def _ownership_conflict(key: ObjectKey, current: Mapping[str, Any] | None, owner: str, adopt: bool) -> str:
    if current is None:
        return ""
    theirs = owner_of(current)
    if theirs is None:
        if adopt:
            return ""
        return (
            f"{key} already exists and is not managed by gitops-agent; not adopted "
            "(set syncPolicy.adopt to take it over)"
        )
    if theirs != owner:
        return f"{key} is managed by {theirs}; not overwritten"
    return ""


def refused(the_plan: Plan) -> tuple[ChangeSet, Failure] | None:
    """A plan that must not run at all (conflicts, or a prune the guards
    refuse): what each object would have come to, and the Plan stage's
    failure (PlanRefused).  Nothing has been written at that point."""
    if not the_plan.refusal and not the_plan.conflicts:
        return None
    reasons = [the_plan.refusal] if the_plan.refusal else [s.reason for s in the_plan.conflicts]
    entries = tuple(
        ChangeSetEntry(
            s.key, s.action if s.action is Action.FAILED else Action.SKIPPED, s.diff, s.reason or None
        )
        for s in the_plan.steps
    )
    return ChangeSet(entries), Failure(Stage.PLAN, "; ".join(r for r in reasons if r))


class PlanOptions(TypedDict, total=False):
    """How to plan: ``owner`` and ``prune`` are required, the rest optional."""

    owner: Required[str]  # the app's owner id: objects with another owner's marks are not touched
    prune: Required[bool]  # delete what the app owns and Git no longer declares
    allow_empty: bool  # let an empty render prune everything
    is_install: bool  # the app's first sync: Helm's install hooks run, else its upgrade hooks
    run_hooks: bool  # false for a rollback, which restores objects and runs no hooks
    adopt: bool  # take over existing objects no agent manages
    max_prune_percent: int | None  # refuse a plan that prunes more than this share of what the app owns
    last_applied: Mapping[ObjectKey, Mapping[str, Any]] | None  # the previous revision's objects
    ignore: Sequence[IgnoreRule]  # fields whose live values are kept, and not counted as drift
    strict: bool  # what others added to an object counts as drift, and is removed


@dataclass(frozen=True)
class _Policy:
    """The options with their defaults, as the planning steps read them."""

    owner: str
    prune: bool
    allow_empty: bool = False
    is_install: bool = False
    run_hooks: bool = True
    adopt: bool = False
    max_prune_percent: int | None = None
    last_applied: Mapping[ObjectKey, Mapping[str, Any]] | None = None
    ignore: Sequence[IgnoreRule] = ()
    strict: bool = False


def plan(
    desired: Sequence[Manifest],
    live: Mapping[ObjectKey, Mapping[str, Any]],
    owned: Mapping[ObjectKey, str],
    **options: Unpack[PlanOptions],
) -> Plan:
    """``desired`` are stamped manifests; ``live`` maps keys to live objects
    (desired ones and owned ones); ``owned`` maps the keys this app owns
    (its last inventory and live objects carrying its marks) to their
    apiVersion.  The steps: one per desired object (:func:`_desired_step`),
    in apply order; then the prunes (:func:`_prune_steps`), in reverse
    order; then the guards that refuse the whole plan (:func:`_refusal`).
    ``last_applied``, ``ignore`` and ``strict`` shape the diff; fields
    ``ignore`` names keep their live values in what is written."""
    policy = _Policy(**options)
    steps = [s for m in desired if (s := _desired_step(m, live.get(m.key), policy)) is not None]
    steps.sort(key=_order)
    wanted = {m.key for m in desired}
    prunes = _prune_steps(live, owned, wanted, policy)
    steps.extend(prunes)
    return Plan(tuple(steps), _refusal(steps, prunes, len({k for k in owned if k in live} | wanted), policy))


def _desired_step(m: Manifest, current: Mapping[str, Any] | None, policy: _Policy) -> Step | None:
    """What to do with one desired object (None: a hook that does not run)."""
    try:
        hook, wave = hook_of(m.obj, is_install=policy.is_install), wave_of(m.obj)
    except AnnotationError as e:
        failed = diff_object(m.key, m.obj, current)
        return Step(m.key, Action.FAILED, failed, m.api_version, m.obj, current, f"{m.key}: {e}")
    if hook is not None and (hook.phase is Phase.SKIP or not policy.run_hooks):
        return None
    if hook is not None and generated(m.obj):  # a new object each run: nothing live to compare
        created = ResourceDiff(m.key, DiffStatus.MISSING)
        return Step(m.key, Action.CREATED, created, m.api_version, m.obj, wave=wave, hook=hook)
    ignored = ignored_for(m.key, policy.ignore)
    to_write: Mapping[str, Any] = m.obj
    if hook is not None:  # hooks are (re)created on every sync; never diffed
        diff = ResourceDiff(m.key, DiffStatus.MISSING)
    else:
        previous = (policy.last_applied or {}).get(m.key)
        diff = diff_object(m.key, m.obj, current, previous, DiffOptions(ignored, policy.strict))
        if ignored and current is not None:
            to_write = keep_live_values(m.obj, current, ignored.all_paths(current))
    conflict = _ownership_conflict(m.key, current, policy.owner, policy.adopt)
    if conflict:
        return Step(m.key, Action.FAILED, diff, m.api_version, to_write, current, conflict, wave, hook)
    if hook is not None:
        action = Action.CREATED
    else:
        action = {DiffStatus.MISSING: Action.CREATED, DiffStatus.MODIFIED: Action.CONFIGURED}.get(
            diff.status, Action.UNCHANGED
        )
    overwrite = policy.strict and any(c.kind is ChangeKind.ADDED_OUT_OF_BAND for c in diff.changes)
    return Step(m.key, action, diff, m.api_version, to_write, current, "", wave, hook, overwrite)


def _prune_steps(
    live: Mapping[ObjectKey, Mapping[str, Any]],
    owned: Mapping[ObjectKey, str],
    wanted: set[ObjectKey],
    policy: _Policy,
) -> list[Step]:
    """What the app owns and Git no longer declares: pruned, or skipped (prune
    off, or the object says so), highest wave first, in reverse apply order."""
    prunes: list[Step] = []
    for key in (k for k in owned if k not in wanted and k in live):
        current = live[key]
        if owner_of(current) != policy.owner:
            continue  # marks changed hands since the last inventory: not ours to prune
        try:
            if hook_of(current, is_install=policy.is_install) is not None:
                continue  # a hook left by an earlier sync: hooks are never pruned
            wave = wave_of(current)
        except AnnotationError:
            wave = 0
        diff = diff_object(key, None, current)
        if not policy.prune:
            prunes.append(Step(key, Action.SKIPPED, diff, owned[key], None, current, "prune is off", wave))
        elif prune_disabled(current):
            reason = "annotated gitops-agent.io/prune: disabled"
            prunes.append(Step(key, Action.SKIPPED, diff, owned[key], None, current, reason, wave))
        else:
            prunes.append(Step(key, Action.PRUNED, diff, owned[key], None, current, "", wave))
    prunes.sort(key=lambda s: (s.wave, rank(s.key)), reverse=True)
    return prunes


def _refusal(steps: list[Step], prunes: list[Step], total: int, policy: _Policy) -> str | None:
    """Why the whole plan must not run (None: it may): an empty render that
    would prune everything, or more pruned than ``max_prune_percent`` of the
    ``total`` objects the app owns."""
    renders_objects = any(s.hook is None and s.desired is not None for s in steps)
    pruned = sum(1 for s in prunes if s.action is Action.PRUNED)
    if not renders_objects and pruned and not policy.allow_empty:
        return (
            "the render produced no objects and pruning would delete everything this app owns; "
            "refused (check the app's path, or set syncPolicy.allowEmpty)"
        )
    if pruned and policy.max_prune_percent is not None:
        share = 100 * pruned / max(total, 1)
        if share > policy.max_prune_percent:
            return (
                f"the sync would prune {pruned} of the {total} objects this app owns ({share:.0f}%), "
                f"more than syncPolicy.maxPrunePercent {policy.max_prune_percent}; refused"
            )
    return None
