"""Run one git command with a deadline.

Git starts helpers of its own (``git-remote-https``, ``ssh``) that hold its
output pipes; a timeout that killed only git would leave a reader waiting on
them.  Each command runs in its own process group and the whole group is
killed when the deadline passes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agent.redact import redact


class GitFailed(Exception):
    """A git command exited non-zero, or ran out of time; ``reason`` is its
    last error line, redacted."""

    def __init__(self, reason: str, *, timed_out: bool = False, stderr: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out
        self.stderr = stderr


@dataclass(frozen=True)
class Output:
    stdout: str
    stderr: str


def run_git(
    args: list[str],
    *,
    git_dir: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float,
) -> Output:
    cmd = ["git", *([f"--git-dir={git_dir}"] if git_dir is not None else []), *args]
    full_env = {**os.environ, **(env or {})}
    with subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            raise GitFailed(f"timed out after {timeout:g}s", timed_out=True) from None
    stderr = err.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise GitFailed(reason(stderr, proc.returncode), stderr=redact(stderr))
    return Output(out.decode("utf-8", "replace"), stderr)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def reason(stderr: str, code: int) -> str:
    """The line of git's error output that says why: the last ``fatal:``,
    else the last line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    line = (fatal or lines or [f"git exited with {code}"])[-1]
    return redact(line.removeprefix("fatal: ").removeprefix("error: "))
