from __future__ import annotations

from typing import Any

import pytest

from agent.models import Action, Manifest
from agent.sync.ownership import stamp
from agent.sync.plan import plan
from agent.sync.waves import AnnotationError, DeletePolicy, Phase, hook_of, wave_of

OWNER = "gitops-agent/app"


def obj(kind: str, name: str, api_version: str = "v1", **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": "ns", "annotations": dict(annotations)},
    }


def m(o: dict[str, Any]) -> Manifest:
    return Manifest(stamp(o, "app", OWNER))


def test_wave_annotations() -> None:
    assert wave_of(obj("ConfigMap", "a")) == 0
    assert wave_of(obj("ConfigMap", "a", **{"gitops-agent.io/sync-wave": "-2"})) == -2
    assert wave_of(obj("ConfigMap", "a", **{"argocd.argoproj.io/sync-wave": "3"})) == 3
    assert wave_of(obj("Job", "a", **{"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "5"})) == 5
    with pytest.raises(AnnotationError, match="gitops-agent.io/sync-wave: 'soon' is not an integer"):
        wave_of(obj("ConfigMap", "a", **{"gitops-agent.io/sync-wave": "soon"}))


def test_hook_annotations() -> None:
    assert hook_of(obj("ConfigMap", "a"), is_install=True) is None
    pre = hook_of(
        obj(
            "Job",
            "j",
            **{
                "argocd.argoproj.io/hook": "PreSync",
                "argocd.argoproj.io/hook-delete-policy": "HookSucceeded",
            },
        ),
        is_install=False,
    )
    assert pre is not None and pre.phase is Phase.PRE_SYNC
    assert pre.delete_policies == {DeletePolicy.HOOK_SUCCEEDED}
    ours = hook_of(obj("Job", "j", **{"gitops-agent.io/hook": "PostSync"}), is_install=False)
    assert ours is not None and ours.phase is Phase.POST_SYNC
    assert ours.delete_policies == {DeletePolicy.BEFORE_HOOK_CREATION}  # the default
    skip = hook_of(obj("ConfigMap", "a", **{"argocd.argoproj.io/hook": "Skip"}), is_install=False)
    assert skip is not None and skip.phase is Phase.SKIP
    with pytest.raises(AnnotationError, match="unknown hook Later"):
        hook_of(obj("Job", "j", **{"gitops-agent.io/hook": "Later"}), is_install=False)


def test_helm_hooks_keep_helm_events() -> None:
    job = obj("Job", "j", **{"helm.sh/hook": "pre-install", "helm.sh/hook-delete-policy": "hook-succeeded"})
    first = hook_of(job, is_install=True)
    assert first is not None and first.phase is Phase.PRE_SYNC
    assert first.delete_policies == {DeletePolicy.HOOK_SUCCEEDED}
    later = hook_of(job, is_install=False)
    assert later is not None and later.phase is Phase.SKIP
    both = obj("Job", "j", **{"helm.sh/hook": "post-install,post-upgrade"})
    for install in (True, False):
        hook = hook_of(both, is_install=install)
        assert hook is not None and hook.phase is Phase.POST_SYNC
    test_hook = hook_of(obj("Pod", "t", **{"helm.sh/hook": "test"}), is_install=False)
    assert test_hook is not None and test_hook.phase is Phase.SKIP


def test_batches_run_hooks_and_waves_in_order() -> None:
    desired = [
        m(obj("Job", "post", "batch/v1", **{"argocd.argoproj.io/hook": "PostSync"})),
        m(obj("Deployment", "late", "apps/v1", **{"gitops-agent.io/sync-wave": "2"})),
        m(obj("Service", "svc")),
        m(obj("ConfigMap", "cfg")),
        m(obj("Job", "pre", "batch/v1", **{"argocd.argoproj.io/hook": "PreSync"})),
        m(
            obj(
                "Job",
                "migrate",
                "batch/v1",
                **{"argocd.argoproj.io/hook": "Sync", "argocd.argoproj.io/sync-wave": "1"},
            )
        ),
        m(obj("Job", "cleanup", "batch/v1", **{"argocd.argoproj.io/hook": "SyncFail"})),
        m(obj("ConfigMap", "skipped", **{"argocd.argoproj.io/hook": "Skip"})),
    ]
    p = plan(desired, {}, {}, owner=OWNER, prune=True)
    assert [(b.phase.value, b.wave, [s.key.name for s in b.steps]) for b in p.batches()] == [
        ("PreSync", 0, ["pre"]),
        ("Sync", 0, ["cfg", "svc"]),
        ("Sync", 1, ["migrate"]),
        ("Sync", 2, ["late"]),
        ("PostSync", 0, ["post"]),
    ]
    assert [s.key.name for s in p.on_failure()] == ["cleanup"]
    assert {s.key.name for s in p.resources} == {"late", "svc", "cfg"}


def test_prune_runs_highest_wave_first_and_never_prunes_hooks() -> None:
    old = [
        stamp(obj("ConfigMap", "w0"), "app", OWNER),
        stamp(obj("ConfigMap", "w5", **{"gitops-agent.io/sync-wave": "5"}), "app", OWNER),
        stamp(obj("Job", "old-hook", "batch/v1", **{"argocd.argoproj.io/hook": "PreSync"}), "app", OWNER),
    ]
    live = {Manifest(o).key: o for o in old}
    owned = {k: "v1" for k in live}
    p = plan([m(obj("ConfigMap", "keep"))], live, owned, owner=OWNER, prune=True)
    assert [(s.key.name, s.action) for s in p.steps] == [
        ("keep", Action.CREATED),
        ("w5", Action.PRUNED),
        ("w0", Action.PRUNED),
    ]


def test_bad_annotation_fails_the_plan_naming_object_and_annotation() -> None:
    p = plan(
        [m(obj("ConfigMap", "a", **{"argocd.argoproj.io/sync-wave": "x"}))], {}, {}, owner=OWNER, prune=True
    )
    (step,) = p.conflicts
    assert step.reason == "ConfigMap/ns/a: argocd.argoproj.io/sync-wave: 'x' is not an integer"
