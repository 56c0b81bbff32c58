"""``gitops-agent emulator serve`` as a process, the one way tests and
benchmarks start it: :func:`serve` starts it, :func:`~tests.support.waits.wait_for_kubeconfig`
waits for the kubeconfig it writes once it listens, :func:`stop` ends it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def serve(db: Path, kubeconfig: Path, *options: str) -> subprocess.Popen[bytes]:
    """Starts the server on a free port over ``db``; it writes ``kubeconfig``
    (removed first, so a wait sees the new one) when it listens."""
    kubeconfig.unlink(missing_ok=True)
    command = ["emulator", "serve", "--db", str(db), "--port", "0", "--kubeconfig", str(kubeconfig)]
    return subprocess.Popen(
        [sys.executable, "-m", "agent", *command, *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> int:
    """SIGTERM, as a person's Ctrl-C; killed when it does not end in time."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
