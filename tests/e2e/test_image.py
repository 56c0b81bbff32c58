"""The Dockerfile, where no container engine runs.

What the image would be is checked from the Dockerfile itself: the base
pinned by digest, the tools the agent drives (git, ssh, gpg), the listen
address from the environment, and every Python package pinned by
``constraints.txt``.  Then its own install steps run, as written (paths
moved under a temporary directory), in a plain Python 3.12 virtual
environment on this Debian machine, and the installed agent is started.
Those steps download from PyPI, so they run only where
``GITOPS_AGENT_IMAGE_STEPS=1`` says the network may be used (``.ci/run``
sets it); without it that test skips and says so.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.net import free_port, request
from tests.support.repos import PROJECT
from tests.support.waits import wait_for

pytestmark = pytest.mark.e2e
DOCKERFILE = (PROJECT / "Dockerfile").read_text()


def _python312() -> str | None:
    """A Python 3.12 that runs (pyenv's shims exist without one behind them)."""
    candidates = [str(p) for p in sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))]
    candidates += [c for c in (shutil.which("python3.12"),) if c]
    for c in candidates:
        if subprocess.run([c, "--version"], capture_output=True, check=False).returncode == 0:
            return c
    return None


PYTHON312 = _python312()


def instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) of each line, continuations joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for word, rest in instructions():
        if word == "FROM":
            found.append([])
        if found:
            found[-1].append((word, rest))
    return found


def constraints() -> dict[str, str]:
    pins = {}
    for raw in (PROJECT / "constraints.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_the_base_is_pinned_by_digest_and_the_tools_are_installed() -> None:
    (arg,) = [rest for word, rest in instructions() if word == "ARG" and rest.startswith("PYTHON_IMAGE=")]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.12-slim-bookworm@sha256:[0-9a-f]{64}", arg)
    assert [rest.split()[0] for word, rest in instructions() if word == "FROM"] == ["${PYTHON_IMAGE}"] * 2
    build, final = stages()
    apt = next(rest for word, rest in final if word == "RUN" and "apt-get install" in rest)
    assert {"git", "openssh-client", "gpg", "ca-certificates"} <= set(shlex.split(apt))
    env = " ".join(rest for word, rest in final if word == "ENV")
    assert "GITOPS_AGENT_ADDRESS=0.0.0.0" in env.split()
    assert "PIP_CONSTRAINT=/src/constraints.txt" in " ".join(rest for word, rest in build if word == "ENV")
    install = next(rest for word, rest in final if word == "RUN" and "pip install" in rest)
    assert "-c /tmp/constraints.txt" in install
    for word, rest in build:
        if word == "COPY":
            for source in rest.split()[:-1]:
                assert (PROJECT / source).exists(), source
    deployment = yaml.safe_load((PROJECT / "deploy" / "deployment.yaml").read_text())
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/etc/ssh/ssh_known_hosts", "/etc/gitops-agent-gpg"} <= mounts


def test_constraints_pin_every_dependency_within_its_bounds() -> None:
    pyproject = (PROJECT / "pyproject.toml").read_text()
    block = pyproject.split("dependencies = [", 1)[1].split("]\n", 1)[0]
    pins = constraints()
    for line in block.splitlines():
        m = re.match(r'\s*"([^"]+)"', line)
        if not m:
            continue
        req = Requirement(m.group(1))
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (req, pins[name])
    assert "hatchling" in pins  # the build backend, through PIP_CONSTRAINT


def _run(command: str, cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)  # noqa: S602 - the Dockerfile's own RUN line
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def _moved(command: str, root: Path) -> str:
    """A RUN line with the image's paths under ``root``, and python 3.12."""
    for path in ("/opt/gitops-agent", "/wheels", "/tmp/constraints.txt", "/src"):
        command = command.replace(path, str(root) + path)
    command = re.sub(r"(^|&& )python -m venv", rf"\1{PYTHON312} -m venv", command)
    return re.sub(r"(^|&& )pip ", rf"\1{PYTHON312} -m pip ", command)


@pytest.mark.skipif(
    os.environ.get("GITOPS_AGENT_IMAGE_STEPS") != "1",
    reason="the Dockerfile's install steps download from PyPI: set GITOPS_AGENT_IMAGE_STEPS=1 (.ci/run does)",
)
@pytest.mark.skipif(PYTHON312 is None, reason="Python 3.12 (the image's) is not installed")
def test_the_dockerfiles_steps_run_in_a_plain_environment(tmp_path: Path) -> None:
    build, final = stages()
    src = tmp_path / "src"
    src.mkdir()
    for word, rest in build:
        if word == "COPY":
            *sources, _ = rest.split()
            for source in sources:
                origin = PROJECT / source
                copy = shutil.copytree if origin.is_dir() else shutil.copy
                copy(origin, src / source)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_CONSTRAINT"] = str(src / "constraints.txt")
    (wheel_step,) = [rest for word, rest in build if word == "RUN"]
    _run(_moved(wheel_step, tmp_path), src, env)
    for word, rest in final:
        if word == "COPY" and not rest.startswith("--from="):  # COPY constraints.txt /tmp/constraints.txt
            source, target = rest.split()
            moved = Path(_moved(target, tmp_path))
            moved.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(PROJECT / source, moved)
    env.pop("PIP_CONSTRAINT")  # the final stage sets none: it passes -c itself
    install = next(rest for word, rest in final if word == "RUN" and "pip install" in rest)
    _run(_moved(install, tmp_path), tmp_path, env)
    venv = tmp_path / "opt" / "gitops-agent" / "bin"
    assert not (tmp_path / "wheels").exists() and not (tmp_path / "tmp" / "constraints.txt").exists()

    installed = subprocess.run(
        [str(venv / "python"), "-c", "import importlib.metadata as m; print('\\n'.join(sorted("
         "f'{d.metadata[\"Name\"]}=={d.version}' for d in m.distributions())))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    pins = constraints()
    for item in installed:
        name, _, version = item.partition("==")
        if canonicalize_name(name) != "gitops-agent":
            assert pins.get(canonicalize_name(name)) == version, f"{item} is not pinned by constraints.txt"

    port = free_port()
    config = tmp_path / "agent.yaml"
    config.write_text(
        yaml.safe_dump(
            {"cluster": {"emulated": {"path": "cluster.db"}}, "daemon": {"port": port}, "apps": []}
        )
    )
    agent_env = {**env, "PATH": f"{venv}:{env['PATH']}", "GITOPS_AGENT_ADDRESS": "127.0.0.1"}
    proc = subprocess.Popen(
        [str(venv / "gitops-agent"), "run", "--config", str(config)],
        env=agent_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: request("GET", base + "/livez")[0] == 200, 60, "the installed agent's /livez")
        status, body = request("GET", base + "/static-offline-docs/swagger-ui-bundle.js")
        assert status == 200 and len(body) > 100_000  # /docs' assets come from the package
    finally:
        proc.terminate()
        proc.wait(30)
