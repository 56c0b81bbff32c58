"""Secrets the API server refuses: data that is not base64, typed Secrets
without their keys or with a docker config that is not JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.emulator import EmulatedCluster, Options
from agent.kube.errors import BadRequest, Invalid


def secret(kind: str = "Opaque", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "default"},
        "type": kind,
        "data": data,
    }


@pytest.fixture
def cluster(tmp_path: Path) -> Any:
    c = EmulatedCluster(tmp_path / "c.db", Options())
    yield c
    c.close()


@pytest.mark.parametrize("value", ["not base64!", "abc", "YQ=x"])
def test_data_that_is_not_base64_is_a_bad_request(cluster: EmulatedCluster, value: str) -> None:
    with pytest.raises(BadRequest, match=r"cannot be handled as a Secret: illegal base64 data"):
        cluster.create(secret(v=value))
    assert cluster.get("v1", "Secret", "s", "default") is None


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (
            secret("kubernetes.io/dockerconfigjson", **{".dockerconfigjson": "bm90IGpzb24="}),
            r"data\[\.dockerconfigjson\]",
        ),
        (secret("kubernetes.io/dockerconfigjson"), r"data\[\.dockerconfigjson\]: Required value"),
        (secret("kubernetes.io/tls", **{"tls.crt": "eA=="}), r"data\[tls\.key\]: Required value"),
    ],
)
def test_typed_secrets_must_hold_their_keys(
    cluster: EmulatedCluster, obj: dict[str, Any], message: str
) -> None:
    with pytest.raises(Invalid, match=message) as e:
        cluster.create(obj)
    assert "not json" not in str(e.value)  # the contents are never quoted back


def test_valid_secrets_are_accepted(cluster: EmulatedCluster) -> None:
    cluster.create(secret("kubernetes.io/dockerconfigjson", **{".dockerconfigjson": "eyJhdXRocyI6IHt9fQ=="}))
    tls = secret("kubernetes.io/tls", **{"tls.crt": "eA==", "tls.key": ""})
    tls["metadata"]["name"] = "t"
    cluster.create(tls)
    assert cluster.get("v1", "Secret", "t", "default") is not None


def test_wrapped_base64_is_accepted_as_go_decodes_it(cluster: EmulatedCluster) -> None:
    cluster.create(secret(v="aGVsbG8g\nd29ybGQ=\n"))
    assert cluster.get("v1", "Secret", "s", "default") is not None
