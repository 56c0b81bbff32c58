"""Two sets of manifests compared object by object, with nothing live:
what ``diff APP --from REV --to REV`` and a history report show between
two revisions (as ``helm diff revision`` and ``argocd app diff --revision``).

Pure: objects in, one :class:`ManifestChange` per object that differs out,
each with a unified YAML diff.  Secret values are masked before anything
is compared or shown, and the agent's ownership marks (which a rendered
commit lacks and a recorded revision carries) are left out, so only what
Git changed shows.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from agent.diff.mask import mask_secret_values
from agent.diff.normalize import is_secret
from agent.models import ObjectKey

OWNERSHIP_LABELS = ("gitops-agent.io/app", "app.kubernetes.io/managed-by")
OWNERSHIP_ANNOTATIONS = ("gitops-agent.io/owner",)


@dataclass(frozen=True)
class ManifestChange:
    object: str
    status: str  # added, removed, changed
    diff: str  # unified YAML diff, "-" the first revision, "+" the second

    def to_dict(self) -> dict[str, str]:
        return {"object": self.object, "status": self.status, "diff": self.diff}


def shown(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object as a revision report shows it: Secret values masked,
    without the agent's ownership marks."""
    out = mask_secret_values(obj) if is_secret(obj) else copy.deepcopy(dict(obj))
    metadata = out.get("metadata")
    if isinstance(metadata, dict):
        for field, names in (("labels", OWNERSHIP_LABELS), ("annotations", OWNERSHIP_ANNOTATIONS)):
            marks = metadata.get(field)
            if isinstance(marks, dict):
                for name in names:
                    marks.pop(name, None)
                if not marks:
                    del metadata[field]
    return out


def _text(obj: Mapping[str, Any] | None) -> list[str]:
    if obj is None:
        return []
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False).splitlines(keepends=True)


def compare_manifests(
    old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]], old_label: str, new_label: str
) -> list[ManifestChange]:
    """The objects that differ, in the order of ``new`` then those only in ``old``."""
    before = {ObjectKey.of(o): shown(o) for o in old}
    after = {ObjectKey.of(o): shown(o) for o in new}
    changes = []
    for key in [*after, *(k for k in before if k not in after)]:
        a, b = before.get(key), after.get(key)
        if a == b:
            continue
        status = "added" if a is None else "removed" if b is None else "changed"
        name = str(key)
        lines = difflib.unified_diff(_text(a), _text(b), f"{old_label}/{name}", f"{new_label}/{name}")
        changes.append(ManifestChange(name, status, "".join(lines)))
    return changes
