"""Three-way drift, ignore rules, strict mode and attribution (pure)."""

from __future__ import annotations

import copy
from typing import Any

from agent.diff import ABSENT, DiffOptions, IgnoreRule, diff_object, ignored_for, keep_live_values
from agent.models import ChangeKind, DiffStatus, ObjectKey

KEY = ObjectKey("apps", "Deployment", "ns", "web")


def desired(**env: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web", "tier": "front"}},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [container(**env)]}}},
    }


def container(**env: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": "web", "image": "nginx:1.27"}
    if env:
        out["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return out


def managed(manager: str, operation: str, time: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": "apps/v1",
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }


AGENT_FIELDS = {
    "f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}},
    "f:spec": {
        "f:replicas": {},
        "f:template": {
            "f:spec": {
                "f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}, "f:env": {}}}
            }
        },
    },
}


def live_of(obj: dict[str, Any], *extra_managers: dict[str, Any]) -> dict[str, Any]:
    live = copy.deepcopy(obj)
    live["metadata"]["managedFields"] = [
        managed("gitops-agent", "Apply", "2026-11-22T09:00:00Z", AGENT_FIELDS),
        *extra_managers,
    ]
    live["spec"]["progressDeadlineSeconds"] = 600  # a server default: no manager owns it
    live["status"] = {"replicas": 2}
    return live


def test_field_removed_in_git_but_still_live() -> None:
    last = desired(LOG_LEVEL="debug")
    now = desired()
    live = live_of(last)
    diff = diff_object(KEY, now, live, last_applied=last)
    (change,) = diff.changes
    assert change.kind is ChangeKind.REMOVED_IN_GIT
    assert change.path == "spec.template.spec.containers[name=web].env"  # the topmost field Git dropped
    assert change.live == [{"name": "LOG_LEVEL", "value": "debug"}]
    label_last = desired()
    label_now = copy.deepcopy(label_last)
    del label_now["metadata"]["labels"]["tier"]
    diff = diff_object(KEY, label_now, live_of(label_last), last_applied=label_last)
    assert [(c.path, c.desired, c.live, c.kind) for c in diff.changes] == [
        ("metadata.labels.tier", ABSENT, "front", ChangeKind.REMOVED_IN_GIT)
    ]
    # without a last-applied revision nothing dropped can be known: no drift
    assert diff_object(KEY, label_now, live_of(label_last)).status is DiffStatus.IN_SYNC


def test_strict_mode_flags_fields_added_by_others_only() -> None:
    obj = desired(A="1")
    live = live_of(
        obj,
        managed(
            "kubectl-edit",
            "Update",
            "2026-11-22T10:03:12Z",
            {
                "f:spec": {
                    "f:template": {
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"web"}': {
                                    "f:env": {'k:{"name":"DEBUG"}': {".": {}, "f:name": {}, "f:value": {}}}
                                }
                            }
                        }
                    }
                }
            },
        ),
    )
    live["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "DEBUG", "value": "true"})
    # lists of objects merge by key: an env var someone added is not drift...
    assert diff_object(KEY, obj, live).status is DiffStatus.IN_SYNC
    # ...except in strict mode, which names it and who added it
    (added,) = diff_object(KEY, obj, live, options=DiffOptions(strict=True)).changes
    assert (added.path, added.live, added.kind, added.manager) == (
        "spec.template.spec.containers[name=web].env[name=DEBUG]",
        {"name": "DEBUG", "value": "true"},
        ChangeKind.ADDED_OUT_OF_BAND,
        "kubectl-edit",
    )
    # annotations added by another manager: only strict mode sees them
    obj2 = desired()
    live2 = live_of(
        obj2,
        managed(
            "kubectl-annotate",
            "Update",
            "2026-11-22T10:05:00Z",
            {"f:metadata": {"f:annotations": {"f:note": {}}}},
        ),
    )
    live2["metadata"]["annotations"] = {"note": "hello"}
    assert diff_object(KEY, obj2, live2).status is DiffStatus.IN_SYNC
    strict = diff_object(KEY, obj2, live2, options=DiffOptions(strict=True))
    (change,) = strict.changes
    assert (change.path, change.live, change.kind, change.manager) == (
        "metadata.annotations.note",
        "hello",
        ChangeKind.ADDED_OUT_OF_BAND,
        "kubectl-annotate",
    )
    # server defaults (no manager) never show up, even in strict mode
    assert all("progressDeadlineSeconds" not in c.path for c in strict.changes)


def test_attribution_names_manager_and_time() -> None:
    obj = desired()
    live = live_of(
        obj, managed("kubectl-scale", "Update", "2026-11-22T10:03:12Z", {"f:spec": {"f:replicas": {}}})
    )
    live["spec"]["replicas"] = 5
    (change,) = diff_object(KEY, obj, live).changes
    assert (change.path, change.desired, change.live) == ("spec.replicas", 2, 5)
    assert (change.manager, change.time) == ("kubectl-scale", "2026-11-22T10:03:12Z")
    assert change.to_dict()["manager"] == "kubectl-scale"


def test_ignore_rules_silence_exactly_what_they_name() -> None:
    obj = desired()
    live = live_of(
        obj, managed("hpa-controller", "Update", "2026-11-22T10:00:00Z", {"f:spec": {"f:replicas": {}}})
    )
    live["spec"]["replicas"] = 7
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    rules = [
        IgnoreRule(kind="Deployment", managers=("hpa-controller",)),
        IgnoreRule(kind="Service", paths=("spec.template.spec.containers[name=web].image",)),
    ]
    diff = diff_object(KEY, obj, live, options=DiffOptions(ignored=ignored_for(KEY, rules)))
    assert [c.path for c in diff.changes] == ["spec.template.spec.containers[name=web].image"]  # not replicas
    rules.append(
        IgnoreRule(group="apps", name="web", json_pointers=("/spec/template/spec/containers/0/image",))
    )
    assert (
        diff_object(KEY, obj, live, options=DiffOptions(ignored=ignored_for(KEY, rules))).status
        is DiffStatus.IN_SYNC
    )
    other = ObjectKey("apps", "Deployment", "ns", "api")
    assert not ignored_for(other, [IgnoreRule(name="web", paths=("spec.replicas",))])


def test_sync_keeps_live_values_of_ignored_fields() -> None:
    obj = desired(A="1")
    live = live_of(obj)
    live["spec"]["replicas"] = 7
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    rules = [IgnoreRule(paths=("spec.replicas", "spec.template.spec.containers[name=web].image"))]
    applied = keep_live_values(obj, live, ignored_for(KEY, rules).all_paths(live))
    assert applied["spec"]["replicas"] == 7
    assert applied["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert applied["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    assert obj["spec"]["replicas"] == 2  # the input is not changed
    # an ignored field absent live is left out of what is applied
    gone = keep_live_values(obj, {**live, "spec": {}}, ignored_for(KEY, rules).all_paths(live))
    assert "replicas" not in gone["spec"]
