"""Hooks the API server names (generateName): how they render, are keyed,
stamped, planned, and how their earlier runs are found (pure parts)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.errors import RenderFailed
from agent.models import Action, DiffStatus, Manifest, ObjectKey
from agent.render.manifests import finalize, parse_manifests
from agent.sync.ownership import HOOK_OF_ANNOTATION, generated, hook_identity, runs_of, stamp
from agent.sync.plan import plan
from agent.sync.waves import Phase

OWNER = "gitops-agent/app"
PRESYNC = {"argocd.argoproj.io/hook": "PreSync"}


def hook(generate: str = "migrate-", **notes: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": generate, "namespace": "ns", "annotations": {**PRESYNC, **notes}},
    }


def test_a_generated_hook_is_keyed_by_its_generate_name() -> None:
    assert ObjectKey.of(hook()) == ObjectKey("batch", "Job", "ns", "migrate-")
    assert generated(hook())
    named = {**hook(), "metadata": {"name": "m", "generateName": "x-"}}
    assert not generated(named) and ObjectKey.of(named).name == "m"


def test_identity_names_kind_group_and_generate_name() -> None:
    assert hook_identity(hook()) == "Job.batch/migrate-"
    core = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "note-"}}
    assert hook_identity(core) == "ConfigMap/note-"


def test_stamp_marks_generated_hooks_only() -> None:
    marked = stamp(hook(), "app", OWNER)
    assert marked["metadata"]["annotations"][HOOK_OF_ANNOTATION] == "Job.batch/migrate-"
    named = stamp({**hook(), "metadata": {"name": "m", "annotations": PRESYNC}}, "app", OWNER)
    assert HOOK_OF_ANNOTATION not in named["metadata"]["annotations"]


def test_earlier_runs_are_this_owners_runs_of_this_hook() -> None:
    def run(name: str, identity: str, owner: str) -> dict[str, Any]:
        notes = {HOOK_OF_ANNOTATION: identity, "gitops-agent.io/owner": owner}
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "annotations": notes}}

    live = [
        run("migrate-abcde", "Job.batch/migrate-", OWNER),
        run("migrate-fghij", "Job.batch/migrate-", OWNER),
        run("migrate-other", "Job.batch/migrate-", "gitops-agent/another-app"),
        run("seed-klmno", "Job.batch/seed-", OWNER),
    ]
    found = runs_of("Job.batch/migrate-", OWNER, live)
    assert [o["metadata"]["name"] for o in found] == ["migrate-abcde", "migrate-fghij"]


def test_render_takes_generate_name_for_hooks_and_keeps_it_first() -> None:
    text = (
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\n"
        "  annotations:\n    helm.sh/hook: pre-install\n"
    )
    (m,) = finalize(parse_manifests(text, "app/hooks.yaml"), "web")
    assert list(m.obj["metadata"])[:2] == ["generateName", "namespace"]
    assert m.key == ObjectKey("batch", "Job", "web", "migrate-")


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        (
            "generateName: run-\n  annotations: {team: a}",
            "Job with generateName 'run-' has no metadata.name; only hooks",
        ),
        ("generateName: run-", "Job with generateName 'run-' has no metadata.name; only hooks"),
        ("annotations: {argocd.argoproj.io/hook: PreSync}", "Job has no metadata.name"),
        ("generateName: ''\n  annotations: {argocd.argoproj.io/hook: PreSync}", "Job has no metadata.name"),
    ],
)
def test_render_refuses_unnamed_objects_that_are_no_generated_hooks(meta: str, expected: str) -> None:
    text = f"apiVersion: batch/v1\nkind: Job\nmetadata:\n  {meta}\n"
    with pytest.raises(RenderFailed) as e:
        parse_manifests(text, "app/jobs.yaml")
    assert str(e.value).startswith("app/jobs.yaml (document 1): "), str(e.value)
    assert expected in str(e.value)


def test_two_generated_hooks_with_one_identity_are_a_duplicate() -> None:
    two = [Manifest(hook(), "a.yaml", 0), Manifest(hook(), "a.yaml", 1)]
    with pytest.raises(RenderFailed, match="defined twice"):
        finalize(two, "ns")


def test_plan_creates_a_generated_hook_whatever_is_live() -> None:
    desired = Manifest(stamp(hook(), "app", OWNER))
    same_name = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate-", "namespace": "ns"}}
    earlier = stamp({**hook(), "metadata": {**hook()["metadata"], "name": "migrate-xyz12"}}, "app", OWNER)
    live = {desired.key: same_name, ObjectKey.of(earlier): earlier}
    p = plan([desired], live, {ObjectKey.of(earlier): "batch/v1"}, owner=OWNER, prune=True)
    (step,) = p.steps  # no conflict with the unowned object of that name, no prune of the earlier run
    assert step.action is Action.CREATED and step.live is None and step.phase is Phase.PRE_SYNC
    assert step.diff.status is DiffStatus.MISSING
    assert p.resources == () and p.refusal is None
