"""The steps of admission, in the order :data:`CHAIN` runs them (see the package docs).

Each step reads and changes one :class:`Admission`; ``body`` is replaced only
where the API server makes a new object (the status subresource, serialization),
so the chain makes no copy the old single method did not.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from agent.emulator.admission import causes, defaulting
from agent.emulator.admission.causes import Cause
from agent.emulator.admission.immutability import update_causes
from agent.emulator.admission.serialize import serialize as serialize_body
from agent.emulator.admission.structural import custom_causes
from agent.emulator.admission.validation import object_causes
from agent.emulator.fields import managed
from agent.emulator.objects import JSON, clone, now, spec_part
from agent.kube import nodes as schema
from agent.kube.kinds import ResourceType

# Kinds whose registry strategy keeps metadata.generation (custom resources always do).
GENERATION_KINDS = {
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("policy", "PodDisruptionBudget"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
}
SERVER_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


class Carrier(defaulting.Allocator, Protocol):
    """The allocator defaulting asks, plus keeping a Service's allocations on update."""

    def carry(self, rt: ResourceType, live: JSON, body: JSON) -> None: ...


@dataclass
class Admission:
    """One write on its way to the store.

    ``entries``: managedFields already worked out (server-side apply), so
    :func:`managed_fields` records nothing more; ``keep_fields``: the body is
    a patch of the live object, whose managedFields it carries along;
    ``serialized``: the body is already serialized (an apply that creates)."""

    rt: ResourceType
    body: JSON
    live: JSON | None
    manager: str
    subresource: str
    node: schema.Node
    builtin: bool
    allocator: Carrier
    entries: managed.Entries | None = None
    keep_fields: bool = False
    serialized: bool = False
    sent_fields: Any = None
    custom: JSON | None = None  # a custom resource's version of its CRD (schema, subresources)

    @property
    def meta(self) -> JSON:
        meta: JSON = self.body["metadata"]
        return meta


Step = Callable[[Admission], None]


def client_metadata(a: Admission) -> None:
    meta = a.meta
    a.sent_fields = meta.pop("managedFields", None)
    meta.pop("selfLink", None)
    meta.pop("resourceVersion", None)


def server_metadata(a: Admission) -> None:
    has_status = "status" in a.rt.subresources
    if a.live is None:
        meta = a.meta
        for f in SERVER_META:
            meta.pop(f, None)
        if has_status:
            a.body.pop("status", None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        return
    live = a.live
    if a.subresource == "status":
        status = a.body.get("status")
        a.body = clone(live)
        a.meta.pop("resourceVersion", None)
        a.meta.pop("managedFields", None)
        if status is None:
            a.body.pop("status", None)
        else:
            a.body["status"] = status
    elif has_status and a.subresource == "":
        if "status" in live:
            a.body["status"] = clone(live["status"])
        else:
            a.body.pop("status", None)
    meta, live_meta = a.meta, live["metadata"]
    for f in SERVER_META:
        if f in live_meta:
            meta[f] = live_meta[f]
        else:
            meta.pop(f, None)


def serialize(a: Admission) -> None:
    if a.serialized:
        return
    live = a.live
    if live is None or not a.builtin or (a.rt.kind, a.rt.group) == ("Secret", ""):
        a.body = serialize_body(a.rt, a.body, a.node, builtin=a.builtin)
        return
    # A field equal to the live object's is stored as serialized already: an update
    # serializes what it changed (a status write its status, not the pod template again).
    body = a.body
    kept = {k for k, v in body.items() if k in live and live[k] == v}
    changed = serialize_body(a.rt, {k: v for k, v in body.items() if k not in kept}, a.node, builtin=True)
    a.body = {k: body[k] if k in kept else changed[k] for k in body if k in kept or k in changed}


def default(a: Admission) -> None:
    if not a.builtin:
        return
    if a.live is not None:
        a.allocator.carry(a.rt, a.live, a.body)
    defaulting.apply_defaults(a.rt.group, a.rt.kind, a.body, a.allocator)


def validate(a: Admission) -> None:
    name = str(a.meta.get("name", ""))
    if a.builtin:
        found = object_causes(a.rt, a.body)
    else:
        found = causes.name_causes(a.rt, name) + causes.annotation_causes(a.meta.get("annotations"))
        version = a.custom or {}
        scale = (version.get("subresources") or {}).get("scale") or {}
        schema_ = (version.get("schema") or {}).get("openAPIV3Schema") or {}
        found += custom_causes(a.body, schema_, a.live, scale)
    if a.live is not None:
        found += update_causes(a.rt.group, a.rt.kind, a.live, a.body)
        found += finalizer_causes(a.live, a.body)
    causes.raise_invalid(a.rt, name, found)


def finalizer_causes(live: JSON, new: JSON) -> list[Cause]:
    """No finalizer may be added to an object being deleted."""
    if not live["metadata"].get("deletionTimestamp"):
        return []
    before = set(live["metadata"].get("finalizers") or ())
    after = set(new["metadata"].get("finalizers") or ())
    if after - before:
        return [
            causes.forbidden(
                "metadata.finalizers", "no new finalizers can be added if the object is being deleted"
            )
        ]
    return []


def generation(a: Admission) -> None:
    if (a.rt.group, a.rt.kind) not in GENERATION_KINDS and a.builtin:
        return
    meta = a.meta
    if a.live is None:
        meta["generation"] = 1
        return
    live_meta = a.live["metadata"]
    gen = int(live_meta.get("generation", 1))
    moved = spec_part(a.body) != spec_part(a.live) or (
        meta.get("deletionTimestamp") and not live_meta.get("deletionTimestamp")
    )
    meta["generation"] = gen + 1 if moved else gen


def managed_fields(a: Admission) -> None:
    entries = a.entries
    if entries is None:
        live_meta = (a.live or {}).get("metadata") or {}
        sent = a.sent_fields
        # A patch carries the live managedFields along; one that changes them sets them, as
        # kubectl does when it moves client-side apply's fields to server-side apply.
        if isinstance(sent, list) and sent and (not a.keep_fields or sent != live_meta.get("managedFields")):
            entries = managed.read_entries({"managedFields": sent})
        else:
            entries = managed.read_entries(live_meta, stored=True)
        writer = managed.Writer(a.manager, a.rt.api_version, now(), a.subresource)
        entries = managed.record_update(a.live, a.body, a.node, entries, writer)
    meta = a.meta
    meta["managedFields"] = managed.write_entries(entries)
    if not meta["managedFields"]:
        del meta["managedFields"]


CHAIN: tuple[Step, ...] = (
    client_metadata,
    server_metadata,
    serialize,
    default,
    validate,
    generation,
    managed_fields,
)
