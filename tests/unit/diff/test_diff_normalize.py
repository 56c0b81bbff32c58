"""What the server stores, spelled differently: never drift (pure).

Each case is a difference a real API server introduces (or that two
spellings of one value have), and one real change next to it that must
still be found.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.diff import diff_object, mask_secret_values
from agent.emulator import EmulatedCluster
from agent.kube import nodes
from agent.kube.kinds import builtin, is_namespaced
from agent.kube.shapes import default_list_keys, normalize, shape_for
from agent.models import DiffStatus, ObjectKey

CORPUS = Path(__file__).resolve().parents[2] / "integration" / "fixtures" / "drift" / "corpus"
DNS = ObjectKey("apps", "Deployment", "ns", "dns")
PORTS = "spec.template.spec.containers[name=coredns].ports"


def dns(udp_name: str = "dns", tcp_name: str = "dns-tcp") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "dns", "namespace": "ns"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "coredns",
                            "image": "coredns:1.11",
                            "ports": [
                                {"containerPort": 53, "name": udp_name, "protocol": "UDP"},
                                {"containerPort": 53, "name": tcp_name},
                            ],
                        }
                    ]
                }
            }
        },
    }


def served(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the server returns it: defaulted protocol, reordered ports."""
    live = copy.deepcopy(obj)
    ports = live["spec"]["template"]["spec"]["containers"][0]["ports"]
    for p in ports:
        p.setdefault("protocol", "TCP")
    ports.reverse()
    return live


def test_ports_are_keyed_by_port_and_protocol() -> None:
    assert diff_object(DNS, dns(), served(dns())).status is DiffStatus.IN_SYNC
    changed = diff_object(DNS, dns(), served(dns(udp_name="domain")))
    assert [(c.path, c.desired, c.live) for c in changed.changes] == [
        (
            "spec.template.spec.containers[name=coredns].ports[containerPort=53,protocol=UDP].name",
            "dns",
            "domain",
        )
    ]
    changed = diff_object(DNS, dns(), served(dns(tcp_name="domain-tcp")))
    assert [c.path for c in changed.changes] == [f"{PORTS}[containerPort=53].name"]


def test_zero_values_the_server_omits_are_not_drift() -> None:
    key = ObjectKey("apps", "Deployment", "ns", "w")
    desired = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "w", "namespace": "ns"},
        "spec": {
            "template": {
                "spec": {
                    "hostNetwork": False,
                    "containers": [{"name": "w", "image": "w:1", "env": [{"name": "EMPTY", "value": ""}]}],
                }
            }
        },
    }
    live = copy.deepcopy(desired)
    del live["spec"]["template"]["spec"]["hostNetwork"]  # Go's omitempty drops them
    del live["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"]
    assert diff_object(key, desired, live).status is DiffStatus.IN_SYNC
    live["spec"]["template"]["spec"]["hostNetwork"] = True  # present and different: drift
    (change,) = diff_object(key, desired, live).changes
    assert (change.path, change.desired, change.live) == ("spec.template.spec.hostNetwork", False, True)


def test_zero_values_of_custom_resources_are_kept() -> None:
    key = ObjectKey("example.com", "Widget", "ns", "w")
    desired = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"on": False},
    }
    live = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}
    assert diff_object(key, desired, live).status is DiffStatus.MODIFIED


def test_base64_is_compared_by_the_bytes_it_encodes() -> None:
    key = ObjectKey("", "Secret", "ns", "ca")
    value = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n" + b"x" * 90 + b"\n").decode()
    wrapped = "\n".join(value[i : i + 76] for i in range(0, len(value), 76)) + "\n"
    desired = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ca"}, "data": {"ca.crt": wrapped}}
    live = {**desired, "data": {"ca.crt": value}, "type": "Opaque"}
    assert diff_object(key, desired, live).status is DiffStatus.IN_SYNC
    live["data"] = {"ca.crt": base64.b64encode(b"other").decode()}
    assert diff_object(key, desired, live).status is DiffStatus.MODIFIED

    cm_key = ObjectKey("", "ConfigMap", "ns", "bin")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bin"}, "binaryData": {"a": wrapped}}
    assert diff_object(cm_key, cm, {**cm, "binaryData": {"a": value}}).status is DiffStatus.IN_SYNC


def test_last_applied_annotation_of_a_secret_is_masked() -> None:
    original = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "ns"},
        "data": {"password": base64.b64encode(b"hunter2-long").decode()},
        "stringData": {"token": "plain-token-value"},
    }
    annotated = {
        **original,
        "metadata": {
            **original["metadata"],
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(original),
                "example.com/copy": json.dumps({"stringData": {"k": "another-secret-value"}}),
                "example.com/note": "kept as it is",
            },
        },
    }
    masked = json.dumps(mask_secret_values(annotated))
    for clear in ("hunter2-long", original["data"]["password"], "plain-token-value", "another-secret-value"):
        assert clear not in masked
    assert "kept as it is" in masked
    inner = json.loads(
        mask_secret_values(annotated)["metadata"]["annotations"][
            "kubectl.kubernetes.io/last-applied-configuration"
        ]
    )
    assert inner["data"]["password"].startswith("<secret:")
    assert inner["metadata"]["name"] == "s"  # the rest of the copy stays readable


def _corpus() -> list[dict[str, Any]]:
    docs = [d for f in sorted(CORPUS.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    return [
        d for d in docs if shape_for(d) is not None
    ]  # built-in kinds (custom resources have no schema here)


@pytest.mark.parametrize("obj", _corpus(), ids=lambda o: f"{o['kind']}/{o['metadata']['name']}")
def test_the_diff_predicts_what_the_emulated_cluster_stores(obj: dict[str, Any]) -> None:
    """Every field Git declares reads back from the emulated cluster exactly
    as the diff's normalization predicts (the server only adds defaults)."""
    assert len(_corpus()) >= 30
    cluster = EmulatedCluster()
    try:
        group = obj["apiVersion"].rpartition("/")[0]
        body = copy.deepcopy(obj)
        if is_namespaced(group, obj["kind"]):
            namespace = body["metadata"].setdefault("namespace", "corpus")
            if cluster.get("v1", "Namespace", namespace) is None:
                cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        stored = cluster.create(body)
    finally:
        cluster.close()
    assert normalize(body, shape_for(body))["kind"] == obj["kind"]
    assert diff_object(ObjectKey.of(body), body, stored).status is DiffStatus.IN_SYNC


def test_sync_keeps_the_ignored_field_of_the_right_port() -> None:
    from agent.diff import keep_live_values
    from agent.diff.paths import parse_dotted

    desired = dns()
    live = served(dns())
    for p in live["spec"]["template"]["spec"]["containers"][0]["ports"]:
        p["hostPort"] = 5300 if p["protocol"] == "UDP" else 5301
    path = parse_dotted("spec.template.spec.containers[name=coredns].ports[*].hostPort")
    kept = keep_live_values(desired, live, [path])
    ports = kept["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert [(p.get("protocol", "TCP"), p["hostPort"]) for p in ports] == [("UDP", 5300), ("TCP", 5301)]


def test_list_key_defaults_along_shapes_match_the_schema_walk() -> None:
    """The emulator defaults list-map key fields (a port's protocol) along
    cached shapes before server-side apply merges by keys; the result is
    the schema walk's, for every kind of the drift corpus."""
    checked = 0
    for path in sorted(CORPUS.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict) or shape_for(doc) is None:
                continue
            group, _, version = str(doc["apiVersion"]).rpartition("/")
            rt = builtin(group, doc["kind"])
            assert rt is not None and rt.version == version
            along_nodes, along_shapes = copy.deepcopy(doc), copy.deepcopy(doc)
            nodes.default_list_keys(along_nodes, nodes.root(rt))
            default_list_keys(along_shapes, shape_for(doc))
            assert along_shapes == along_nodes, path
            checked += along_nodes != doc
    assert checked > 0  # some objects had a protocol to fill in
    service = {"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 80}]}}
    default_list_keys(service, shape_for(service))
    assert service["spec"]["ports"] == [{"port": 80, "protocol": "TCP"}]
