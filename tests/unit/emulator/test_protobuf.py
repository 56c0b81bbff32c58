"""Kubernetes protobuf request bodies decoded to the JSON the API server would read."""

from __future__ import annotations

import pytest

from agent.emulator import protobuf
from agent.kube.errors import BadRequest


def field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def varint(number: int, value: int) -> bytes:
    return bytes([number << 3, value])


def envelope(api_version: bytes, kind: bytes, raw: bytes) -> bytes:
    return protobuf.MAGIC + field(1, field(1, api_version) + field(2, kind)) + field(2, raw)


def test_a_secret_with_bytes_data_and_zero_values_left_out() -> None:
    meta = field(1, b"creds") + field(2, b"") + field(3, b"shop")  # generateName "" as Go writes it
    data = field(2, field(1, b"pw") + field(2, b"hunter2"))
    decoded = protobuf.decode(envelope(b"v1", b"Secret", field(1, meta) + data + field(3, b"Opaque")))
    assert decoded == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "shop"},
        "data": {"pw": "aHVudGVyMg=="},
        "type": "Opaque",
    }


def test_a_deployment_keeps_a_meaningful_zero_and_drops_the_rest() -> None:
    spec = varint(1, 0) + varint(5, 0)  # replicas: 0 (a pointer: kept); minReadySeconds: 0 (left out)
    decoded = protobuf.decode(envelope(b"apps/v1", b"Deployment", field(2, spec)))
    assert decoded["spec"] == {"replicas": 0}


def test_bad_bodies_are_refused_clearly() -> None:
    with pytest.raises(BadRequest, match="magic"):
        protobuf.decode(b"{}")
    with pytest.raises(BadRequest, match="no protobuf message is known for example.com/v1 Widget"):
        protobuf.decode(envelope(b"example.com/v1", b"Widget", b""))
    assert protobuf.message_of("v1", "ConfigMap") == "k8s.io.api.core.v1.ConfigMap"
