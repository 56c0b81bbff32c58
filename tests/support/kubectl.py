"""kubectl 1.27, 1.31 and 1.33 (the Google Cloud SDK ships ``kubectl.1.27`` ...
``kubectl.1.33`` beside its ``kubectl``) against ``gitops-agent emulator serve``: the
``kubectl`` fixture (in tests/e2e/conftest.py) runs one of them, a version not installed
is skipped, naming it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.emulator import serve, stop
from tests.support.waits import wait_for_kubeconfig

VERSIONS = ("1.27", "1.31", "1.33")


def _binary(version: str) -> str | None:
    found = shutil.which("kubectl")
    if found is None:
        return None
    candidate = Path(os.path.realpath(found)).parent / f"kubectl.{version}"
    return str(candidate) if candidate.is_file() else shutil.which(f"kubectl.{version}")


class Kubectl:
    def __init__(self, binary: str, env: dict[str, str]) -> None:
        self.binary, self.env = binary, env

    def __call__(
        self, *args: str, ok: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [self.binary, *args], capture_output=True, text=True, input=stdin, env=self.env, timeout=60
        )
        if ok:
            assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
        return done


def served_kubectl(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kubectl]:
    binary = _binary(request.param)
    if binary is None:
        pytest.skip(f"kubectl.{request.param} is not installed (the Google Cloud SDK ships it)")
    kubeconfig = tmp_path / "kubeconfig"
    server = serve(tmp_path / "cluster.db", kubeconfig, "--rollout-seconds", "0.2")
    try:
        wait_for_kubeconfig(kubeconfig, server)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path / "home"),
            "KUBECONFIG": str(kubeconfig),
        }
        yield Kubectl(binary, env)
    finally:
        stop(server)
