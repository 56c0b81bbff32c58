"""The differential suite's harness: the same calls to the real API server and the
emulated cluster, their answers normalized and compared, every remaining
difference matched against ``tests/differential/allowed.yaml``."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from deepdiff import DeepDiff

from agent.cluster.base import ClusterClient
from agent.kube.errors import ClusterError

ALLOWED = Path(__file__).parents[1] / "differential" / "allowed.yaml"
CRD_KEY = ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com")

VOLATILE_META = ("uid", "resourceVersion", "creationTimestamp", "generateName")


def allowed() -> list[dict[str, str]]:
    entries = yaml.safe_load(ALLOWED.read_text()) or []
    assert all(e.get("reason") for e in entries), f"{ALLOWED}: every entry needs a reason"
    return entries


def normalized(answer: Any) -> Any:
    """What any two clusters may answer differently, removed."""
    out = copy.deepcopy(answer)
    if isinstance(out, list):
        return [normalized(o) for o in out]
    if not isinstance(out, dict):
        return out
    if out.get("kind") == "Status":
        (out.get("details") or {}).pop("uid", None)
    meta = out.get("metadata") or {}
    for key in VOLATILE_META:
        meta.pop(key, None)
    # No controller runs beside the real server; the emulator's simulated
    # controllers write status (and own it in managedFields): not compared.
    out.pop("status", None)
    if "managedFields" in meta:  # and what the controllers write besides (a Deployment's revision)
        meta["managedFields"] = [
            e
            for e in meta["managedFields"]
            if e.get("subresource") != "status" and e.get("manager") != "kube-controller-manager"
        ]
    notes = meta.get("annotations")
    if isinstance(notes, dict):
        notes.pop("deployment.kubernetes.io/revision", None)
        # an autoscaler's status, as autoscaling/v1 carries it
        notes.pop("autoscaling.alpha.kubernetes.io/conditions", None)
        notes.pop("autoscaling.alpha.kubernetes.io/current-metrics", None)
        if not notes:
            del meta["annotations"]
    for entry in meta.get("managedFields") or ():
        entry.pop("time", None)
    spec = out.get("spec") or {}
    if out.get("kind") == "Service":
        for key in ("clusterIP", "clusterIPs"):
            spec.pop(key, None)
    return out


def ns(name: str = "diff") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "diff", "labels": {"app": "web"}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "main", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]
                },
            },
        },
    }


def attempt(call: Callable[[], Any]) -> Any:
    """The answer, or the error as the API server's Status names it."""
    try:
        return call()
    except ClusterError as e:
        return {
            "code": e.code,
            "reason": e.reason,
            "causes": sorted(
                (c.get("field", ""), c.get("reason", "")) for c in (e.details.get("causes") or ())
            ),
        }


def compare(scenario: str, expected: Any, got: Any) -> None:
    """Fail on a difference ``allowed.yaml`` does not list, and on a listed one that is gone."""
    diff = DeepDiff(expected, got, ignore_order=False, verbose_level=2)
    found = set(diff.affected_paths)
    entries = [e for e in allowed() if re.fullmatch(e["scenario"], scenario)]
    unlisted = sorted(p for p in found if not any(re.fullmatch(e["path"], p) for e in entries))
    assert not unlisted, (
        "the emulator differs from the real API server (fix it or list it in allowed.yaml):\n"
        + "\n".join(f"  {scenario} {p}: {_at(diff, p)}" for p in unlisted)
    )
    stale = [e["reason"] for e in entries if not any(re.fullmatch(e["path"], p) for p in found)]
    assert not stale, f"listed in allowed.yaml for {scenario} but no longer different: {stale}"


WORDS = {  # DeepDiff's change kinds, from the real answer to the emulator's
    "dictionary_item_removed": "only the real server has",
    "iterable_item_removed": "only the real server has",
    "dictionary_item_added": "only the emulator has",
    "iterable_item_added": "only the emulator has",
    "values_changed": "values differ (new: the emulator's)",
    "type_changes": "types differ (new: the emulator's)",
}


def _at(diff: DeepDiff, path: str) -> str:
    for kind, changes in diff.items():
        if isinstance(changes, dict) and path in changes:
            change = changes[path]
            if isinstance(change, dict) and "old_value" in change:
                return f"real {str(change['old_value'])[:200]}, emulator {str(change['new_value'])[:200]}"
            return f"{WORDS.get(kind, kind)} {str(change)[:300]}"
    return "?"


def status_of(call: Callable[[], Any]) -> Any:
    """The answer, or the error's code, reason, message and causes (each with its message).
    The API server lists a schema's errors in Go map order, which varies: with more than
    one cause, the causes are compared in sorted order and the message that joins them is not."""
    try:
        return call()
    except ClusterError as e:
        raw = e.details.get("causes") or ()
        causes = sorted((c.get("field", ""), c.get("reason", ""), c.get("message", "")) for c in raw)
        out = {"code": e.code, "reason": e.reason, "causes": causes}
        if len(causes) <= 1:
            out["message"] = str(e)
        return out


def scenario_test(scenarios: dict[str, Callable[[ClusterClient], Any]]) -> Callable[..., None]:
    """A test running each scenario against the real server and the emulator, then :func:`compare`."""

    def test(scenario: str, clients: tuple[ClusterClient, ClusterClient]) -> None:
        real, emulated = clients
        compare(scenario, normalized(scenarios[scenario](real)), normalized(scenarios[scenario](emulated)))

    return test


def raw(c: ClusterClient, method: str, path: str, data: bytes, content_type: str = "application/json") -> Any:
    """A request with a body of exact bytes (duplicate keys, bad base64): its code, reason,
    message and causes, or the object it answered."""
    import json

    from agent.cluster.kube import KubeCluster

    assert isinstance(c, KubeCluster)
    transport = c.transport
    headers = transport._headers(content_type)
    manager = transport.api_client.rest_client.pool_manager
    response = manager.request(method, transport.configuration.host + path, body=data, headers=headers)
    answer = json.loads(response.data or b"{}")
    warning = response.headers.get("Warning")
    if answer.get("kind") != "Status":
        return {"code": response.status, "kind": answer.get("kind"), "apiVersion": answer.get("apiVersion"),
                "warning": warning}  # fmt: skip
    details = answer.get("details") or {}
    causes = sorted(
        (x.get("field", ""), x.get("reason", ""), x.get("message", "")) for x in details.get("causes") or ()
    )
    return {"code": answer.get("code"), "reason": answer.get("reason"), "message": answer.get("message"),
            "causes": causes}  # fmt: skip
