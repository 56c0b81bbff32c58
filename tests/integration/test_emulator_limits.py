"""The emulated cluster reads request bodies and its ``--faults`` file with
the agent's one YAML loader and its limits: a body too large is a 413, one
that nests too deep, is an alias bomb or holds a tag its value cannot hold
is a 400 naming the problem, and nothing is stored; a bad faults file is one
error line, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.emulator import EmulatedCluster, EmulatorServer, Options

BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(9)
)
CM_PATH = "/api/v1/namespaces/default/configmaps"
APPLY = "application/apply-patch+yaml"
SERVE = [sys.executable, "-m", "agent", "emulator", "serve"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[EmulatedCluster, EmulatorServer]]:
    cluster = EmulatedCluster(tmp_path / "cluster.db", Options(time_factor=0.001))
    served = EmulatorServer(cluster).start()
    yield cluster, served
    served.stop()
    cluster.close()


def call(server: EmulatorServer, method: str, path: str, body: bytes, ctype: str) -> tuple[int, Any]:
    headers = {"Content-Type": ctype, "Authorization": f"Bearer {server.token}"}
    request = urllib.request.Request(server.url + path, method=method, data=body, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 - http://127.0.0.1 only
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def cm_yaml(extra: str = "") -> bytes:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\n{extra}".encode()


BAD_BODIES = {
    "an alias bomb": (cm_yaml("bomb:\n" + "".join(f"  {x}\n" for x in BOMB.splitlines())), "alias bomb"),
    "a recursive alias": (cm_yaml("data: &d {k: *d}\n"), "refers to itself"),
    "a tag the value cannot hold": (cm_yaml('data: {k: !!float ";"}\n'), "the request body:4: invalid YAML"),
    "JSON nested 200,000 deep": (b"[" * 200_000 + b"]" * 200_000, "nested"),
    "JSON nested 101 deep": (
        json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "x": [[]] * 1})
        .replace("[[]]", "[" * 101 + "]" * 101)
        .encode(),
        "nested more than 100 levels deep",
    ),
}


@pytest.mark.parametrize("case", BAD_BODIES.keys())
def test_a_body_the_loader_refuses_is_a_400_and_nothing_is_stored(
    server: tuple[EmulatorServer, Any], case: str
) -> None:
    cluster, served = server
    body, message = BAD_BODIES[case]
    for method, path, ctype in (
        ("PATCH", f"{CM_PATH}/c?fieldManager=t", APPLY),
        ("POST", CM_PATH, "application/yaml"),
        ("POST", CM_PATH, "application/json"),
    ):
        if ctype == "application/json" and not body.startswith((b"[", b"{")):
            continue
        status, answer = call(served, method, path, body, ctype)
        assert status == 400, (method, ctype, answer)
        assert answer["kind"] == "Status" and answer["reason"] == "BadRequest"
        assert message in answer["message"], answer["message"]
    assert cluster.get("v1", "ConfigMap", "c", "default") is None


def test_a_body_over_3_mib_is_a_413(server: tuple[EmulatedCluster, EmulatorServer]) -> None:
    cluster, served = server
    big = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "x" * 3_200_000}}
    status, answer = call(served, "POST", CM_PATH, json.dumps(big).encode(), "application/json")
    assert status == 413
    assert answer["reason"] == "RequestEntityTooLarge"
    assert answer["message"] == "Request entity too large: limit is 3145728"
    assert cluster.get("v1", "ConfigMap", "c", "default") is None


def test_the_faults_endpoint_reads_with_the_same_limits(
    server: tuple[EmulatedCluster, EmulatorServer],
) -> None:
    cluster, served = server
    status, answer = call(served, "PUT", "/emulator/v1/faults", ("x:\n" + BOMB).encode(), "application/yaml")
    assert status == 400 and "alias bomb" in answer["message"]
    assert cluster.faults.config.errors == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BOMB, "a YAML alias bomb"),
        ("errors: &e [*e]\n", "refers to itself"),
        ("latencyMs: !!float ';'\n", "faults.yaml:1: invalid YAML"),
        ("- a\n- b\n", "the fault rules must be a mapping"),
        ("latencyMs: -1\n", "faults.yaml: latencyMs"),
    ],
)
def test_a_bad_faults_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text(text)
    done = subprocess.run(
        [*SERVE, "--db", str(tmp_path / "c.db"), "--port", "0", "--faults", str(faults)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # one line, no traceback
    assert lines[0].startswith("error: ") and str(faults) in lines[0] and message in lines[0], lines
