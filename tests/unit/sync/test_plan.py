from __future__ import annotations

from typing import Any

from agent.models import Action, Manifest, ObjectKey
from agent.sync.ownership import PRUNE_ANNOTATION, owner_of, stamp
from agent.sync.plan import plan

OWNER = "gitops-agent/app"


def obj(kind: str, name: str, api_version: str = "v1", ns: str = "ns", **spec: Any) -> dict[str, Any]:
    o: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}
    if ns:
        o["metadata"]["namespace"] = ns
    if spec:
        o["spec"] = spec
    return o


def m(o: dict[str, Any]) -> Manifest:
    return Manifest(stamp(o, "app", OWNER))


def test_apply_order_follows_dependencies() -> None:
    desired = [
        m(obj("Service", "s")),
        m(obj("Deployment", "d", "apps/v1")),
        m(obj("Namespace", "ns", ns="")),
        m(obj("ConfigMap", "c")),
        m(obj("CustomResourceDefinition", "x.y", "apiextensions.k8s.io/v1", ns="")),
        m(obj("Widget", "w", "example.com/v1")),
        m(obj("Secret", "sec")),
        m(obj("ServiceAccount", "sa")),
        m(obj("ClusterRole", "cr", "rbac.authorization.k8s.io/v1", ns="")),
    ]
    p = plan(desired, {}, {}, owner=OWNER, prune=True)
    assert [s.key.kind for s in p.steps] == [
        "CustomResourceDefinition",
        "Namespace",
        "ClusterRole",
        "ServiceAccount",
        "Secret",
        "ConfigMap",
        "Deployment",
        "Widget",
        "Service",
    ]
    assert all(s.action is Action.CREATED for s in p.steps)


def test_unchanged_configured_and_prune() -> None:
    same, changed, gone = (
        m(obj("ConfigMap", "same")),
        m(obj("ConfigMap", "changed")),
        m(obj("ConfigMap", "gone")),
    )
    live_changed = stamp({**changed.obj, "data": {"x": "1"}}, "app", OWNER)
    changed = Manifest({**changed.obj, "data": {"x": "2"}})
    live = {same.key: same.obj, changed.key: live_changed, gone.key: gone.obj}
    owned = {k: "v1" for k in live}
    p = plan([same, changed], live, owned, owner=OWNER, prune=True)
    assert {s.key.name: s.action for s in p.steps} == {
        "same": Action.UNCHANGED,
        "changed": Action.CONFIGURED,
        "gone": Action.PRUNED,
    }
    assert p.steps[-1].key.name == "gone"
    assert p.refusal is None

    p = plan([same, changed], live, owned, owner=OWNER, prune=False)
    assert {s.key.name: s.action for s in p.steps}["gone"] is Action.SKIPPED


def test_prune_disabled_annotation_keeps_the_object() -> None:
    keep = stamp(obj("ConfigMap", "keep"), "app", OWNER)
    keep["metadata"]["annotations"][PRUNE_ANNOTATION] = "disabled"
    key = ObjectKey.of(keep)
    p = plan([m(obj("ConfigMap", "other"))], {key: keep}, {key: "v1"}, owner=OWNER, prune=True)
    assert [(s.key.name, s.action) for s in p.steps] == [("other", Action.CREATED), ("keep", Action.SKIPPED)]


def test_objects_of_others_are_never_overwritten_or_pruned() -> None:
    theirs = stamp(obj("ConfigMap", "c"), "other", "gitops-agent/other")
    unowned = obj("ConfigMap", "u")
    live = {ObjectKey.of(theirs): theirs, ObjectKey.of(unowned): unowned}
    p = plan([m(obj("ConfigMap", "c")), m(obj("ConfigMap", "u"))], live, {}, owner=OWNER, prune=True)
    assert [s.action for s in p.steps] == [Action.FAILED, Action.FAILED]
    assert "managed by gitops-agent/other" in p.steps[0].reason
    assert "not managed by gitops-agent" in p.steps[1].reason
    # listed in our old inventory, but now owned by another app: not pruned
    p = plan([], {ObjectKey.of(theirs): theirs}, {ObjectKey.of(theirs): "v1"}, owner=OWNER, prune=True)
    assert p.steps == ()


def test_empty_render_that_would_prune_everything_is_refused() -> None:
    gone = m(obj("ConfigMap", "gone"))
    p = plan([], {gone.key: gone.obj}, {gone.key: "v1"}, owner=OWNER, prune=True)
    assert p.refusal is not None and "no objects" in p.refusal
    assert (
        plan([], {gone.key: gone.obj}, {gone.key: "v1"}, owner=OWNER, prune=True, allow_empty=True).refusal
        is None
    )


def test_stamp_does_not_mutate_and_marks_owner() -> None:
    o = obj("ConfigMap", "c")
    s = stamp(o, "app", OWNER)
    assert "labels" not in o["metadata"]
    assert s["metadata"]["labels"]["gitops-agent.io/app"] == "app"
    assert owner_of(s) == OWNER


def test_adopting_unowned_objects_is_explicit() -> None:
    unowned = obj("ConfigMap", "u")
    live = {ObjectKey.of(unowned): unowned}
    refused = plan([m(obj("ConfigMap", "u"))], live, {}, owner=OWNER, prune=True)
    assert refused.steps[0].action is Action.FAILED and "syncPolicy.adopt" in refused.steps[0].reason
    adopted = plan([m(obj("ConfigMap", "u"))], live, {}, owner=OWNER, prune=True, adopt=True)
    assert adopted.steps[0].action is Action.CONFIGURED  # it gains the app's marks


def test_prune_share_limit() -> None:
    objs = [m(obj("ConfigMap", f"c{i}")) for i in range(4)]
    live = {x.key: x.obj for x in objs}
    owned = {k: "v1" for k in live}
    keep = objs[:1]
    p = plan(keep, live, owned, owner=OWNER, prune=True, max_prune_percent=50)
    assert p.refusal is not None and "prune 3 of the 4 objects this app owns (75%)" in p.refusal
    assert plan(objs[:2], live, owned, owner=OWNER, prune=True, max_prune_percent=50).refusal is None
    assert plan(keep, live, owned, owner=OWNER, prune=True).refusal is None
