"""ControllerRevisions written by hand, against the real API server and the emulator: what
is stored, ``data`` immutable, ``revision`` not negative (no controller runs beside the real
server, so the revisions its controllers would make are tested on the emulator only:
tests/unit/emulator/test_revisions.py, tests/e2e/test_kubectl_access_and_history.py)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.cluster.base import ClusterClient
from tests.support.differential import ns, scenario_test, status_of


def _revision(name: str, revision: int) -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": "db"}}, "$patch": "replace"}
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": name, "namespace": "diff", "labels": {"app": "db"}},
            "data": {"spec": {"template": template}}, "revision": revision}  # fmt: skip


def _revisions(c: ClusterClient) -> Any:
    c.apply(ns())
    made = c.create(_revision("db-1", 1))
    made["metadata"].pop("managedFields", None)
    return [
        made,
        status_of(lambda: c.patch("apps/v1", "ControllerRevision", "db-1", "diff", {"data": {"x": 1}})),
        status_of(lambda: c.patch("apps/v1", "ControllerRevision", "db-1", "diff", {"revision": 2})),
        status_of(lambda: c.patch("apps/v1", "ControllerRevision", "db-1", "diff", {"revision": -1})),
        status_of(lambda: c.create(_revision("db-2", -3))),
    ]


SCENARIOS = {"controller-revisions": _revisions}
test_controller_revisions = pytest.mark.parametrize("scenario", sorted(SCENARIOS))(scenario_test(SCENARIOS))
