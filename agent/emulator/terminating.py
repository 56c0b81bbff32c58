"""The conditions the namespace controller sets on a namespace being deleted.

As ``pkg/controller/namespace/deletion/status_condition_utils.go`` keeps them:
five condition types, each either its failure (``True``) or its "ok" variant
(``False`` with a fixed reason and message).  The emulated cluster discovers
and parses every type it serves and deletes content without failing, so the
first three are always ok; what it can show is the content still there
(``NamespaceContentRemaining``: ``configmaps. has 1 resource instances``, the
resource and group as the controller prints them) and the finalizers holding
it (``NamespaceFinalizersRemaining``: ``example.com/hold in 1 resource
instances``).  A condition whose status changes gets a new
``lastTransitionTime``; one whose reason or message alone changes keeps it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from agent.emulator.objects import JSON

_OK: tuple[tuple[str, str, str], ...] = (
    ("NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered", "All resources successfully discovered"),
    (
        "NamespaceDeletionGroupVersionParsingFailure",
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
    ),
    (
        "NamespaceDeletionContentFailure",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    ("NamespaceContentRemaining", "ContentRemoved", "All content successfully removed"),
    ("NamespaceFinalizersRemaining", "ContentRemoved", "All content successfully removed"),
)


def conditions(remaining: Iterable[tuple[str, str, JSON]], old: list[JSON], now: str) -> list[JSON]:
    """The namespace's conditions given what is left in it: ``(group, resource, object)``."""
    resources: Counter[str] = Counter()
    finalizers: Counter[str] = Counter()
    for group, resource, obj in remaining:
        resources[f"{resource}.{group}"] += 1
        finalizers.update((obj.get("metadata") or {}).get("finalizers") or ())
    failing: dict[str, tuple[str, str]] = {}
    if resources:
        listed = sorted(f"{r} has {n} resource instances" for r, n in resources.items())
        failing["NamespaceContentRemaining"] = (
            "SomeResourcesRemain",
            f"Some resources are remaining: {', '.join(listed)}",
        )
    if finalizers:
        listed = sorted(f"{f} in {n} resource instances" for f, n in finalizers.items())
        # the controller's reason is singular, as written in its source
        failing["NamespaceFinalizersRemaining"] = (
            "SomeFinalizerRemain",
            f"Some finalizers are remaining: {', '.join(listed)}",
        )
    before = {c.get("type"): c for c in old}
    out = [c for c in old if c.get("type") not in {t for t, _, _ in _OK}]
    for kind, ok_reason, ok_message in _OK:
        status, (reason, message) = (
            ("True", failing[kind]) if kind in failing else ("False", (ok_reason, ok_message))
        )
        prior = before.get(kind)
        stamp = prior["lastTransitionTime"] if prior and prior.get("status") == status else now
        out.append(
            {
                "type": kind,
                "status": status,
                "lastTransitionTime": stamp,
                "reason": reason,
                "message": message,
            }
        )
    return out
