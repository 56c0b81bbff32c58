"""Waits: bounded polling until something holds (never a timed assertion).

One loop, :func:`poll`; the rest say what they wait for.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


def poll(check: Callable[[], T], timeout: float, interval: float = 0.05) -> T:
    """The first truthy value of ``check``, or its value at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    return check()


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll until ``check`` holds; fails naming ``what`` it waited for."""
    if not poll(check, timeout, interval):
        raise AssertionError(f"timed out waiting for {what}")


def eventually(fn: Callable[[], T], timeout: float = 10) -> T:
    """Poll until ``fn`` returns something truthy, and return it (or its last value)."""
    return poll(fn, timeout, 0.02)


def _running(proc: subprocess.Popen[bytes] | None, what: str) -> None:
    if proc is not None and proc.poll() is not None:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise AssertionError(f"{what} exited with {proc.returncode}: {err[-3000:]}")


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 10) -> None:
    """Until something listens on 127.0.0.1:``port`` (while ``proc`` runs)."""

    def listening() -> bool:
        _running(proc, "the server")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    wait_for(listening, timeout, f"a server on 127.0.0.1:{port}", 0.02)


def wait_for_kubeconfig(path: Path, proc: subprocess.Popen[bytes], timeout: float = 20) -> dict[str, Any]:
    """The kubeconfig ``emulator serve`` writes once it listens."""

    def written() -> bool:
        _running(proc, "emulator serve")
        return path.exists() and path.stat().st_size > 0

    wait_for(written, timeout, f"the kubeconfig {path}")
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    return doc
