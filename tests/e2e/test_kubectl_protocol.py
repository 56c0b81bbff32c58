"""What the emulator answers kubectl's requests with, checked over real HTTPS without kubectl:
TLS trusted through the kubeconfig's CA, protobuf bodies decoded, Table output,
OpenAPI documents and server-side field validation."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from agent.emulator import EmulatedCluster, EmulatorServer, Options, saved_kubeconfig
from agent.emulator.rest.cells import human_duration

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[EmulatorServer, httpx.Client]]:
    cluster = EmulatedCluster(tmp_path / "c.db", Options())
    server = EmulatorServer(cluster, tls=True).start()
    config = server.kubeconfig()
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    headers = {"Authorization": f"Bearer {config['users'][0]['user']['token']}"}
    client = httpx.Client(base_url=server.url, headers=headers, verify=ssl.create_default_context(cadata=ca))
    yield server, client
    client.close()
    server.stop()
    cluster.close()


def configmap(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "labels": {"app": "web"}},
        "data": {"a": "1", "b": "2"},
        **(extra or {}),
    }


def test_https_with_the_ca_of_the_kubeconfig(
    api: tuple[EmulatorServer, httpx.Client], tmp_path: Path
) -> None:
    server, client = api
    assert server.url.startswith("https://") and client.get("/version").json()["minor"] == "33"
    assert client.get("/api/v1/namespaces", headers={"Authorization": ""}).status_code == 401
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(server.url + "/version")  # the system's trust store does not know this CA
    saved = saved_kubeconfig(server.cluster)
    assert saved is not None and saved["clusters"] == server.kubeconfig()["clusters"]


def _pb(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (payloads under 128 bytes)."""
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_protobuf_bodies_are_decoded_and_json_answers_protobuf_accepts(
    api: tuple[EmulatorServer, httpx.Client],
) -> None:
    _, client = api
    protobuf = {"Content-Type": "application/vnd.kubernetes.protobuf"}
    refused = client.post(
        "/api/v1/namespaces/default/configmaps", content=b"k8s\x00\x0a\x0f", headers=protobuf
    )
    assert refused.status_code == 400 and refused.json()["reason"] == "BadRequest"
    # runtime.Unknown{typeMeta: {v1, ConfigMap}, raw: ConfigMap{metadata: {name: pb}, data: {a: 1}}}
    config_map = _pb(1, _pb(1, b"pb")) + _pb(2, _pb(1, b"a") + _pb(2, b"1"))
    body = b"k8s\x00" + _pb(1, _pb(1, b"v1") + _pb(2, b"ConfigMap")) + _pb(2, config_map)
    made = client.post("/api/v1/namespaces/default/configmaps", content=body, headers=protobuf)
    assert made.status_code == 201 and made.json()["data"] == {"a": "1"}
    listed = client.get(
        "/api/v1/namespaces", headers={"Accept": "application/vnd.kubernetes.protobuf,application/json"}
    )
    names = [n["metadata"]["name"] for n in listed.json()["items"]]
    assert listed.headers["content-type"] == "application/json"
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]


def test_tables_for_lists_single_objects_and_custom_columns(api: tuple[EmulatorServer, httpx.Client]) -> None:
    _, client = api
    assert client.post("/api/v1/namespaces/default/configmaps", json=configmap()).status_code == 201
    table = client.get("/api/v1/namespaces/default/configmaps", headers={"Accept": TABLE}).json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    row = next(r for r in table["rows"] if r["cells"][0] == "settings")  # beside kube-root-ca.crt
    assert row["cells"][:2] == ["settings", 2]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["labels"] == {"app": "web"}
    whole = client.get(
        "/api/v1/namespaces/default/configmaps/settings?includeObject=Object", headers={"Accept": TABLE}
    ).json()
    assert whole["rows"][0]["object"]["data"] == {"a": "1", "b": "2"}
    plain = client.get("/api/v1/namespaces/default/configmaps/settings").json()
    assert plain["kind"] == "ConfigMap"


def test_openapi_v3_root_documents_and_v2(api: tuple[EmulatorServer, httpx.Client]) -> None:
    _, client = api
    root = client.get("/openapi/v3").json()["paths"]
    url = root["apis/apps/v1"]["serverRelativeURL"]
    doc = client.get(url)
    assert doc.headers["cache-control"] == "public, immutable"
    schemas = doc.json()["components"]["schemas"]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name" and containers["type"] == "array"
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    item = doc.json()["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert item["patch"]["x-kubernetes-group-version-kind"]["kind"] == "Deployment"
    assert "fieldValidation" in {p["name"] for p in item["parameters"]}
    v2 = client.get("/openapi/v2", headers={"Accept": "application/json"}).json()
    assert v2["swagger"] == "2.0" and "io.k8s.api.apps.v1.Deployment" in v2["definitions"]
    only_protobuf = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    answer = client.get("/openapi/v2", headers={"Accept": only_protobuf})
    assert answer.headers["content-type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    # gnostic's Document: swagger (1); definitions (9) of NamedSchema (name 1, Schema 2), a
    # Schema's vendor extensions (31) NamedAny (name 1, Any 2 whose yaml is 2)
    document = _protobuf_fields(answer.content)
    assert document[1] == [b"2.0"]
    named = [_protobuf_fields(d) for d in _protobuf_fields(document[9][0])[1]]
    schemas = {n[1][0].decode(): _protobuf_fields(n[2][0]) for n in named}
    assert schemas.keys() == v2["definitions"].keys()
    extensions = {
        f[1][0].decode(): yaml.safe_load(_protobuf_fields(f[2][0])[2][0])
        for f in map(_protobuf_fields, schemas["io.k8s.api.apps.v1.Deployment"][31])
    }
    gvk = {"group": "apps", "kind": "Deployment", "version": "v1"}
    assert extensions["x-kubernetes-group-version-kind"] == [gvk]
    html = client.get("/openapi/v2", headers={"Accept": "text/html"})
    assert html.status_code == 406


def _protobuf_fields(data: bytes) -> dict[int, list[Any]]:
    """A protobuf message's fields by number: varints as ints, the rest as bytes."""

    def varint(at: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = data[at]
            value |= (byte & 0x7F) << shift
            shift, at = shift + 7, at + 1
            if byte < 0x80:
                return value, at

    out: dict[int, list[Any]] = {}
    at = 0
    while at < len(data):
        key, at = varint(at)
        value: Any
        if key & 7 == 0:
            value, at = varint(at)
        elif key & 7 == 1:
            value, at = data[at : at + 8], at + 8
        else:
            size, at = varint(at)
            value, at = data[at : at + size], at + size
        out.setdefault(key >> 3, []).append(value)
    return out


def test_field_validation_strict_warn_and_ignore(api: tuple[EmulatorServer, httpx.Client]) -> None:
    server, client = api
    path = "/api/v1/namespaces/default/configmaps"
    strict = client.post(path + "?fieldValidation=Strict", json=configmap({"spec": {"x": 1}}))
    assert (
        strict.status_code == 400
        and strict.json()["message"]
        == 'ConfigMap in version "v1" cannot be handled as a ConfigMap: '
        'strict decoding error: unknown field "spec"'
    )
    assert server.cluster.get("v1", "ConfigMap", "settings", "default") is None
    warned = client.post(path, json=configmap({"spec": {"x": 1}}))
    assert warned.status_code == 201 and warned.headers["warning"] == '299 - "unknown field \\"spec\\""'
    assert "spec" not in warned.json()
    patched = client.patch(
        path + "/settings?fieldValidation=Ignore",
        json={"metadata": {"labelz": {}}, "data": {"c": "3"}},
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert patched.status_code == 200 and "warning" not in patched.headers
    assert "labelz" not in patched.json()["metadata"]
    assert patched.json()["data"] == {"a": "1", "b": "2", "c": "3"}
    bad_mode = client.post(path + "?fieldValidation=Loud", json=configmap())
    assert bad_mode.status_code == 400 and "fieldValidation" in bad_mode.json()["message"]


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(-5, "<invalid>"), (-1, "0s"), (59, "59s"), (119, "119s"), (150, "2m30s"), (600, "10m"),
     (3 * 3600 + 60, "3h1m"), (30 * 3600, "30h"), (3 * 86400 + 3600, "3d1h"), (40 * 86400, "40d"),
     (3 * 365 * 86400 + 86400, "3y1d")],
)  # fmt: skip
def test_ages_read_like_the_api_servers(seconds: int, shown: str) -> None:
    assert human_duration(seconds) == shown
