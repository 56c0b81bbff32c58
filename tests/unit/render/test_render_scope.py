"""Every built-in kind's scope, whatever renders it: cluster-scoped objects
never get the app's namespace (and lose one written by mistake); kinds the
agent does not know are asked of the cluster's discovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.diff.normalize import comparable
from agent.kube import builtin_kinds
from agent.kube.kinds import scope_of
from tests.support.render import run, write

CLUSTER_SCOPED = [
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
    ("apiregistration.k8s.io/v1", "APIService"),
    ("scheduling.k8s.io/v1", "PriorityClass"),
    ("node.k8s.io/v1", "RuntimeClass"),
    ("storage.k8s.io/v1", "StorageClass"),
    ("storage.k8s.io/v1", "CSIDriver"),
    ("networking.k8s.io/v1", "IngressClass"),
    ("v1", "PersistentVolume"),
    ("flowcontrol.apiserver.k8s.io/v1", "FlowSchema"),
]


def test_the_scope_table_covers_every_built_in_kind() -> None:
    assert len(builtin_kinds.CLUSTER_SCOPED) + len(builtin_kinds.NAMESPACED) > 60
    for api_version, kind in CLUSTER_SCOPED:
        group = api_version.rpartition("/")[0]
        assert scope_of(group, kind) is False, kind
    assert scope_of("policy", "PodDisruptionBudget") is True
    assert scope_of("example.com", "Widget") is None


@pytest.mark.parametrize(("api_version", "kind"), CLUSTER_SCOPED)
def test_cluster_scoped_kinds_get_no_namespace(tmp_path: Path, api_version: str, kind: str) -> None:
    write(
        tmp_path,
        {"app/x.yaml": f"apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: x, namespace: oops}}\n"},
    )
    (m,) = run(tmp_path, "app", validate=False).manifests
    assert "namespace" not in m.obj["metadata"]
    assert m.key.namespace == ""


def test_unknown_kinds_are_asked_of_the_cluster(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/x.yaml": "apiVersion: example.com/v1\nkind: Tenant\nmetadata: {name: a}\n---\n"
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: b}\n"
        },
    )
    asked: list[tuple[str, str]] = []

    def scope(api_version: str, kind: str) -> bool | None:
        asked.append((api_version, kind))
        return {"Tenant": False}.get(kind)

    tenant, widget = run(tmp_path, "app", validate=False, scope=scope).manifests
    assert "namespace" not in tenant.obj["metadata"]
    assert widget.obj["metadata"]["namespace"] == "team"  # unknown to all: namespaced
    assert asked == [("example.com/v1", "Tenant"), ("example.com/v1", "Widget")]


def test_a_secrets_empty_value_is_the_same_as_null() -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"a": "", "b": "eA=="},
    }
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"a": None, "b": "eA=="}}
    assert comparable(desired) == comparable(live)
    assert comparable(desired)["data"]["b"] != comparable({**live, "data": {"b": None}})["data"]["b"]
