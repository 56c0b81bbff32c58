"""Sync waves and hooks, read from annotations (pure).

Waves: ``gitops-agent.io/sync-wave`` (or Argo CD's ``argocd.argoproj.io/sync-wave``,
for people migrating); an integer, default 0, lower waves first.  Each wave
is applied, then waited on until healthy, before the next one starts.

Hooks run around the sync instead of being part of the app's inventory:

=====================  ==========================================  ============
annotation             values                                      phase
=====================  ==========================================  ============
gitops-agent.io/hook   PreSync, Sync, PostSync, SyncFail, Skip     as named
argocd.argoproj.io/hook  the same                                  as named
helm.sh/hook           pre-install, pre-upgrade                    PreSync
                       post-install, post-upgrade                  PostSync
=====================  ==========================================  ============

Helm hooks keep Helm's meaning: ``pre-install``/``post-install`` run on an
app's first sync only and ``pre-upgrade``/``post-upgrade`` on later ones
(Argo CD runs both every time); other Helm events (delete, rollback, test)
never run during a sync.  ``helm.sh/hook-weight`` orders Helm hooks like a
wave.  Delete policies (``...hook-delete-policy``): ``BeforeHookCreation``
(the default, as in both tools), ``HookSucceeded``, ``HookFailed``; Helm's
spellings ``before-hook-creation``, ``hook-succeeded``, ``hook-failed``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WAVE_ANNOTATIONS = ("gitops-agent.io/sync-wave", "argocd.argoproj.io/sync-wave")
HOOK_ANNOTATIONS = ("gitops-agent.io/hook", "argocd.argoproj.io/hook")
DELETE_POLICY_ANNOTATIONS = (
    "gitops-agent.io/hook-delete-policy",
    "argocd.argoproj.io/hook-delete-policy",
    "helm.sh/hook-delete-policy",
)
HELM_HOOK = "helm.sh/hook"
HELM_WEIGHT = "helm.sh/hook-weight"


class Phase(enum.StrEnum):
    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"
    SKIP = "Skip"  # never applied during a sync (Skip, or a Helm hook for another event)


class DeletePolicy(enum.StrEnum):
    BEFORE_HOOK_CREATION = "BeforeHookCreation"
    HOOK_SUCCEEDED = "HookSucceeded"
    HOOK_FAILED = "HookFailed"


_HELM_POLICIES = {
    "before-hook-creation": DeletePolicy.BEFORE_HOOK_CREATION,
    "hook-succeeded": DeletePolicy.HOOK_SUCCEEDED,
    "hook-failed": DeletePolicy.HOOK_FAILED,
}
_HELM_PHASES = {
    "pre-install": (Phase.PRE_SYNC, True),
    "pre-upgrade": (Phase.PRE_SYNC, False),
    "post-install": (Phase.POST_SYNC, True),
    "post-upgrade": (Phase.POST_SYNC, False),
}


class AnnotationError(ValueError):
    """An annotation with a value the agent cannot use; names the annotation."""


@dataclass(frozen=True)
class Hook:
    phase: Phase
    delete_policies: frozenset[DeletePolicy] = frozenset({DeletePolicy.BEFORE_HOOK_CREATION})


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata") or {}
    found = meta.get("annotations") or {}
    return found if isinstance(found, Mapping) else {}


def _int(value: Any, annotation: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise AnnotationError(f"{annotation}: {value!r} is not an integer") from None


def wave_of(obj: Mapping[str, Any]) -> int:
    notes = _annotations(obj)
    for name in WAVE_ANNOTATIONS:
        if name in notes:
            return _int(notes[name], name)
    if HELM_HOOK in notes and HELM_WEIGHT in notes:
        return _int(notes[HELM_WEIGHT], HELM_WEIGHT)
    return 0


def _policies(notes: Mapping[str, Any]) -> frozenset[DeletePolicy]:
    for name in DELETE_POLICY_ANNOTATIONS:
        if name not in notes:
            continue
        out: set[DeletePolicy] = set()
        for raw in str(notes[name]).split(","):
            word = raw.strip()
            if not word:
                continue
            policy = _HELM_POLICIES.get(word) or next((p for p in DeletePolicy if p.value == word), None)
            if policy is None:
                choices = ", ".join(p.value for p in DeletePolicy)
                raise AnnotationError(f"{name}: unknown policy {word!r} (use {choices})")
            out.add(policy)
        return frozenset(out) or frozenset({DeletePolicy.BEFORE_HOOK_CREATION})
    return frozenset({DeletePolicy.BEFORE_HOOK_CREATION})


SKIPPED = Hook(Phase.SKIP, frozenset())


def hook_of(obj: Mapping[str, Any], *, is_install: bool) -> Hook | None:
    """The object's hook (phase ``Skip`` for an object that must not be
    applied during this sync), or ``None`` for an ordinary object."""
    notes = _annotations(obj)
    for name in HOOK_ANNOTATIONS:
        if name not in notes:
            continue
        words = [w.strip() for w in str(notes[name]).split(",") if w.strip()]
        if "Skip" in words:
            return SKIPPED
        phases = [p for p in Phase if p.value in words]
        unknown = [w for w in words if w not in {p.value for p in Phase}]
        if unknown or not phases:
            raise AnnotationError(
                f"{name}: unknown hook {', '.join(unknown) or '(empty)'} "
                f"(use PreSync, Sync, PostSync, SyncFail or Skip)"
            )
        return Hook(phases[0], _policies(notes))
    if HELM_HOOK in notes:
        events = [w.strip() for w in str(notes[HELM_HOOK]).split(",") if w.strip()]
        for event in events:
            if event in _HELM_PHASES:
                phase, on_install = _HELM_PHASES[event]
                if on_install == is_install:
                    return Hook(phase, _policies(notes))
        return SKIPPED
    return None
