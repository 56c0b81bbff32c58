"""ControllerRevisions: the pod-template history of StatefulSets and DaemonSets.

As the statefulset and daemonset controllers keep it (``pkg/controller/history/
controller_history.go``, ``pkg/controller/statefulset/stateful_set_control.go``
and ``pkg/controller/daemon/update.go`` in kubernetes/kubernetes):

* one ControllerRevision per distinct pod template, named ``<owner>-<hash>``,
  owned by the workload (a controller reference), labelled with the template's
  labels (so the workload's selector finds it) and, for a StatefulSet,
  ``controller.kubernetes.io/hash``, for a DaemonSet ``controller-revision-hash``
  (a DaemonSet's revision also carries the DaemonSet's annotations, so
  ``kubernetes.io/change-cause`` shows in ``kubectl rollout history``);
* ``data`` is the patch that restores the template,
  ``{"spec": {"template": {..., "$patch": "replace"}}}``, which ``kubectl
  rollout undo`` applies as a strategic merge patch;
* ``revision`` is one more than the highest; a template seen before (an undo)
  gets its old ControllerRevision back with the next number, not a new one;
* revisions that are neither current nor used by a Pod are kept up to
  ``spec.revisionHistoryLimit`` (default 10), the oldest deleted first.

The Pods carry ``controller-revision-hash`` (the revision's name for a
StatefulSet, its hash for a DaemonSet), and a StatefulSet's status names its
``currentRevision`` and ``updateRevision`` (:mod:`.workloads`).
"""

from __future__ import annotations

import copy

from agent.emulator.controllers import children
from agent.emulator.controllers.status import Context, template_hash
from agent.emulator.objects import JSON

POD_LABEL = "controller-revision-hash"
_STATEFULSET_LABEL = "controller.kubernetes.io/hash"
DEFAULT_LIMIT = 10


def name_of(owner: JSON) -> tuple[str, str]:
    """The revision's name and hash for the owner's current template."""
    digest = template_hash((owner.get("spec") or {}).get("template"))
    return f"{owner['metadata']['name'][:223]}-{digest}", digest


def with_history(ctx: Context, owner: JSON, now: float) -> None:
    """Make the owner's Pods, then record its template as a revision and trim the history
    (to what the Pods left use)."""
    children.pods(ctx, owner, now)
    record(ctx, owner)


def record(ctx: Context, owner: JSON) -> None:
    c = ctx.cluster
    rt = c.resource_type("apps/v1", "ControllerRevision")
    meta, spec = owner["metadata"], owner.get("spec") or {}
    ns = meta.get("namespace", "")
    name, digest = name_of(owner)
    owned = sorted(children.owned(ctx, rt, owner), key=lambda r: int(r.get("revision") or 0))
    top = int(owned[-1].get("revision") or 0) if owned else 0
    current = next((r for r in owned if r["metadata"]["name"] == name), None)
    if current is None:
        template = copy.deepcopy(spec.get("template") or {})
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels[_STATEFULSET_LABEL if owner["kind"] == "StatefulSet" else POD_LABEL] = digest
        body: JSON = {
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": labels,
                "ownerReferences": [children.owner_ref(owner)],
            },
            "data": {"spec": {"template": {**template, "$patch": "replace"}}},
            "revision": top + 1,
        }
        if owner["kind"] == "DaemonSet" and meta.get("annotations"):
            body["metadata"]["annotations"] = dict(meta["annotations"])
        c.system_create(rt, body, ns)
        owned.append(body)
    elif current is not owned[-1]:  # a template seen before: it becomes the newest again

        def bumped(obj: JSON, to: int = top + 1) -> JSON:
            obj["revision"] = to
            return obj

        c.system_write(rt, ns, name, bumped)
        owned.remove(current)
        owned.append(current)
    _trim(ctx, owner, owned, name)


def _trim(ctx: Context, owner: JSON, owned: list[JSON], current: str) -> None:
    limit = (owner.get("spec") or {}).get("revisionHistoryLimit")
    limit = DEFAULT_LIMIT if limit is None else int(limit)
    c = ctx.cluster
    prefix = "" if owner["kind"] == "StatefulSet" else f"{owner['metadata']['name'][:223]}-"
    pod_rt = c.resource_type("v1", "Pod")
    in_use = {current} | {
        prefix + str((p["metadata"].get("labels") or {}).get(POD_LABEL))
        for p in children.owned(ctx, pod_rt, owner)
    }
    old = [r for r in owned if r["metadata"]["name"] not in in_use]
    rt = c.resource_type("apps/v1", "ControllerRevision")
    for r in old[: max(0, len(old) - limit)]:
        c.system_delete(rt, r["metadata"].get("namespace", ""), r["metadata"]["name"])
