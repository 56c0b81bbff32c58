"""Every command block of the README, run literally, top to bottom, in a fresh
checkout: a README claim is a promise, and this keeps it.

How each block runs (servers, watches, a daemon to talk to) is written in an
invisible mark before it (see :mod:`tests.support.readme`); lines with
``# exit N`` must end with N, every other command with 0.  The blocks run in
order in one checkout, as a reader follows the README, each in a shell of its
own.  The README's servers listen where it says (6443, 8080): a test run
needs those ports free.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.daemon import Daemon
from tests.support.net import free_port
from tests.support.readme import Block, blocks, quick_start_commands, script
from tests.support.repos import GIT_ENV, PROJECT

pytestmark = pytest.mark.e2e

BLOCKS = blocks(PROJECT / "README.md")
WEBHOOK_KEY = "readme-webhook-key"


def _go_caches() -> dict[str, str]:
    """Go's module and build caches of the machine's user, kept under the
    blocks' own HOME: a ``go install`` block then builds as a reader's
    second run does (seconds), not from nothing each time (minutes)."""
    go = shutil.which("go")
    if go is None:
        return {}
    names = ("GOPATH", "GOMODCACHE", "GOCACHE")
    out = subprocess.run([go, "env", *names], capture_output=True, text=True, check=False)
    values = out.stdout.splitlines()
    if out.returncode != 0 or len(values) != len(names):
        return {}
    return {k: v for k, v in zip(names, values, strict=True) if v}


GO_CACHES = _go_caches()


def _env(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k not in ("GITOPS_AGENT_CONFIG", "KUBECONFIG")}
    return {**keep, **GIT_ENV, **GO_CACHES, "HOME": str(home), "NO_COLOR": "1", "COLUMNS": "120"}


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh checkout of this working tree (committed, as a clone would be)
    with the test's own virtual environment as ``.venv``, after the quick start."""
    root = tmp_path_factory.mktemp("readme") / "gitops-agent"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        source = PROJECT / rel
        if source.is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / rel)
    env = _env(root.parent)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "checkout"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    (root / ".venv").symlink_to(sys.prefix)
    for block in BLOCKS:
        if "quick-start" in block.mark:
            for command in quick_start_commands(block):
                done = subprocess.run(
                    ["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True
                )
                assert done.returncode == 0, f"{block.name}: {command}\n{done.stdout}\n{done.stderr}"
    return root


def _daemon(checkout: Path, port: int) -> Daemon:
    """The agent the webhook example talks to: the example apps and a generic webhook secret."""
    config = checkout / "examples-repo" / "webhook-agent.yaml"
    base = (checkout / "examples-repo" / "agent.yaml").read_text()
    secrets = '    secrets: {generic: "${CI_WEBHOOK_HMAC_KEY}"}\n'
    config.write_text(f"{base}\ndaemon:\n  port: {port}\n  webhook:\n{secrets}")
    daemon = Daemon(config, port, env={"CI_WEBHOOK_HMAC_KEY": WEBHOOK_KEY})
    daemon.wait_ready()
    return daemon


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_readme_block(block: Block, checkout: Path) -> None:
    if "quick-start" in block.mark:
        return  # run by the checkout itself, before any other block
    if "skip" in block.mark:
        pytest.skip(block.mark["skip"])
    env = {**_env(checkout.parent), "CI_WEBHOOK_HMAC_KEY": WEBHOOK_KEY}
    daemon, replace = None, {}
    if "daemon" in block.mark:
        daemon = _daemon(checkout, free_port())
        replace = {block.mark["daemon"]: daemon.base}
    # Output to files, not pipes: a server the block left running must not
    # keep the test waiting for the end of its output.
    logs = checkout.parent / f"block-{block.line}"
    with open(f"{logs}.out", "w") as stdout_file, open(f"{logs}.err", "w") as stderr_file:
        shell = subprocess.Popen(
            ["bash", "-c", script(block, replace)],
            cwd=checkout,
            env=env,
            stdout=stdout_file,
            stderr=stderr_file,
            start_new_session=True,
        )
    try:
        shell.wait(timeout=600)
    finally:
        with contextlib.suppress(ProcessLookupError):  # what the block left running (a timeout)
            os.killpg(shell.pid, signal.SIGKILL)
        shell.wait()
        if daemon is not None:
            assert daemon.stop() == 0, daemon.logs()[-2000:]
    stdout, stderr = Path(f"{logs}.out").read_text(), Path(f"{logs}.err").read_text()
    assert shell.returncode == 0, f"{block.name}\n--- stdout\n{stdout[-4000:]}\n--- stderr\n{stderr[-4000:]}"


def test_every_block_is_found_and_runs() -> None:
    """The parser sees the README's blocks, and only a block a test cannot run is skipped."""
    assert len(BLOCKS) >= 8
    assert [b for b in BLOCKS if "quick-start" in b.mark], "the quick start is marked"
    skipped = [b.name for b in BLOCKS if "skip" in b.mark]
    # docker build and push (no engine, no registry here), and the ClusterRoleBinding of
    # "Permissions" (it needs deploy/ applied; tests/e2e/test_deploy.py checks those rights)
    assert [name.split(" (", 1)[1] for name in skipped] == ["In a cluster)", "Permissions)"], skipped
