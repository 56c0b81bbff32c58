"""Run one git command with a deadline, through GitPython.

Git starts helpers of its own (``git-remote-https``, ``ssh``) that hold its
output pipes; a timeout that killed only git would leave a reader waiting on
them.  GitPython's ``kill_after_timeout`` kills git and every descendant; the
command also runs in a session of its own so no terminal is ever asked for
credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import git

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
    status, out, err = git.Git().execute(
        cmd,
        with_extended_output=True,
        with_exceptions=False,
        kill_after_timeout=timeout,  # GitPython kills git and its helpers (pgrep -P, recursively)
        strip_newline_in_stdout=False,
        env=env or {},
        start_new_session=True,
    )
    stderr = str(err)
    if stderr.startswith("Timeout:"):
        raise GitFailed(f"timed out after {timeout:g}s", timed_out=True)
    if status != 0:
        raise GitFailed(reason(stderr, int(status)), stderr=redact(stderr))
    return Output(str(out), stderr)


def reason(stderr: str, code: int) -> str:
    """The line of git's error output that says why: the last ``fatal:``,
    else the last line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    line = (fatal or lines or [f"git exited with {code}"])[-1]
    return redact(line.removeprefix("fatal: ").removeprefix("error: "))
