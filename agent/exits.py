"""How a command ends: its exit code, decided from its results in one place,
and the fast exit of the process.

The codes are the CLI's contract with scripts and CI (see :mod:`agent.cli`):

  0  success (sync: every app synced; diff: no drift; status: all synced and healthy)
  1  diff: drift found; status: an app is out of sync or not healthy
  2  sync: a change failed (and was rolled back where possible), or the commit is
     held after a rollback; rollback: the rollback failed
  3  error before any change: configuration, source, render, plan, cluster access
  4  an internal error (a bug): one ``error:`` line, the traceback in a debug log

Kept apart from the commands so each rule is written once and reads as a
table, as ``git`` and ``kubectl diff`` document theirs; the commands only
pass their results here.
"""

from __future__ import annotations

import atexit
import contextlib
import enum
import os
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from agent.results import Stage

if TYPE_CHECKING:
    from agent.results import AppStatus, DriftReport, RollbackResult, SyncResult


class ExitCode(enum.IntEnum):
    OK = 0
    DRIFT = 1  # diff: drift found; status: out of sync or not healthy
    SYNC_FAILED = 2  # a change failed, a commit is held, a rollback failed
    ERROR = 3  # an error before any change
    INTERNAL = 4  # an unexpected exception: a bug, never "drift" or "failed"


_EARLY_STAGES = {Stage.CONFIG, Stage.SOURCE, Stage.RENDER, Stage.PLAN, Stage.CLUSTER}


def sync_exit(results: Sequence[SyncResult]) -> ExitCode:
    """0 all synced; 2 a change failed (rolled back or not) or a commit is
    held after a rollback; 3 every failure came before any change."""
    failed = [r for r in results if not r.ok]
    if not failed:
        return ExitCode.OK
    if all(r.failure is not None and r.failure.stage in _EARLY_STAGES for r in failed):
        return ExitCode.ERROR
    return ExitCode.SYNC_FAILED


def diff_exit(reports: Sequence[DriftReport]) -> ExitCode:
    """3 a report failed; 1 drift found; 0 in sync."""
    if any(r.failure for r in reports):
        return ExitCode.ERROR
    return ExitCode.DRIFT if any(r.drifted for r in reports) else ExitCode.OK


def status_exit(statuses: Sequence[AppStatus]) -> ExitCode:
    """1 when an app is out of sync or not healthy."""
    unwell = any(s.sync_status.value != "Synced" or s.health.label != "Healthy" for s in statuses)
    return ExitCode.DRIFT if unwell else ExitCode.OK


def rollback_exit(result: RollbackResult) -> ExitCode:
    return ExitCode.OK if result.ok else ExitCode.SYNC_FAILED


def internal_error(exc: BaseException) -> ExitCode:
    """An exception no stage turned into an error: one ``error:`` line on
    stderr and the traceback (redacted) in a debug log of the user's own,
    never the traceback on the terminal; exit 4, which no command uses for
    a verdict (``diff`` exits 1 for drift: a crash must not read as drift)."""
    import tempfile  # noqa: PLC0415 - only on the way out of a crash
    import traceback  # noqa: PLC0415

    from agent.redact import redact  # noqa: PLC0415

    text = redact("".join(traceback.format_exception(exc)))
    where = ""
    with contextlib.suppress(OSError):
        fd, path = tempfile.mkstemp(prefix="gitops-agent-error-", suffix=".log")  # mode 0600
        with os.fdopen(fd, "w") as log:
            log.write(text)
        where = f"; the details are in {path}"
    message = redact(str(exc).splitlines()[0] if str(exc) else "")
    print(f"error: internal error ({type(exc).__name__}: {message}){where}", file=sys.stderr)
    return ExitCode.INTERNAL


def leave(code: object) -> NoReturn:
    """Exit without the interpreter's final teardown.

    A sync leaves thousands of objects in memory and the kubernetes client
    loads thousands of model classes; freeing them one by one at exit took
    about a quarter of a second, as long as the whole apply of a small app.
    What exit must still do is done here first: the interpreter's own
    thread shutdown (executors finish, other non-daemon threads are joined),
    the atexit handlers (logging's flush, temporary files), and the output
    streams are flushed.  Then the process ends with ``code``."""
    status = code if isinstance(code, int) else (0 if code is None else 1)
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
    shutdown = getattr(threading, "_shutdown", None)  # what the interpreter calls at exit
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)
