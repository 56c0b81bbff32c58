"""How a command ends: its exit code, decided from its results in one place,
and the fast exit of the process.

The codes are the CLI's contract with scripts and CI (the README's table):

  0  success (sync: every app synced; diff: no drift; status: all synced and healthy)
  1  diff: drift found; status: an app is out of sync or not healthy
  2  usage error: an unknown command or option, a bad option value (nothing ran)
  3  error before any change: configuration, source, render, plan
  4  an internal error (a bug): one ``error:`` line, the traceback in a debug log
  5  the cluster could not be reached, before any change
  6  a sync failed after changes began and was not rolled back (rollback off,
     or it failed too); rollback: the rollback failed
  7  a sync failed after changes began and was rolled back to the last healthy revision
  8  the commit is held after a rollback: nothing applied (push a new commit or ``--force``)

With several apps the most serious outcome decides, in the order 6, 7, 8,
5, 3.  Kept apart from the commands so each rule is written once and reads
as a table, as ``git`` and ``kubectl diff`` document theirs; the commands
only pass their results here.  Usage errors keep the code Click (and
argparse, and most Unix tools) give them.
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

from agent.results import Reason, Stage

if TYPE_CHECKING:
    from agent.results import AppStatus, DriftReport, Failure, RollbackResult, SyncResult


class ExitCode(enum.IntEnum):
    OK = 0
    DRIFT = 1  # diff: drift found; status: out of sync or not healthy
    USAGE = 2  # an unknown command or option, a bad option value
    ERROR = 3  # an error before any change
    INTERNAL = 4  # an unexpected exception: a bug, never "drift" or "failed"
    UNREACHABLE = 5  # the cluster could not be reached, before any change
    SYNC_FAILED = 6  # a change failed and was not rolled back; a rollback failed
    ROLLED_BACK = 7  # a change failed and the app was rolled back
    HELD = 8  # the commit is held after a rollback: nothing applied


# The most serious first: what decides when several apps end differently.
_SEVERITY = (
    ExitCode.INTERNAL,
    ExitCode.SYNC_FAILED,
    ExitCode.ROLLED_BACK,
    ExitCode.HELD,
    ExitCode.UNREACHABLE,
    ExitCode.ERROR,
    ExitCode.DRIFT,
    ExitCode.OK,
)
_EARLY_STAGES = {Stage.CONFIG, Stage.SOURCE, Stage.RENDER, Stage.PLAN, Stage.CLUSTER}


def worst(codes: Sequence[ExitCode]) -> ExitCode:
    """The most serious of several apps' codes (OK for none)."""
    return min(codes, key=_SEVERITY.index, default=ExitCode.OK)


def failure_exit(failure: Failure) -> ExitCode:
    """An error before any change: 5 when the cluster could not be reached, else 3."""
    return ExitCode.UNREACHABLE if failure.reason is Reason.CLUSTER_UNAVAILABLE else ExitCode.ERROR


def _sync_code(r: SyncResult) -> ExitCode:
    if r.held is not None and r.failure is None:
        return ExitCode.HELD
    if r.failure is None:
        return ExitCode.OK
    if r.failure.stage in _EARLY_STAGES and r.rollback is None:
        return failure_exit(r.failure)
    if r.rollback is not None and r.rollback.ok:
        return ExitCode.ROLLED_BACK
    return ExitCode.SYNC_FAILED


def sync_exit(results: Sequence[SyncResult]) -> ExitCode:
    """0 all synced; 6 a change failed and was not rolled back; 7 a change
    failed and was rolled back; 8 a commit is held after a rollback; 5 the
    cluster could not be reached and 3 another error, before any change."""
    return worst([_sync_code(r) for r in results])


def diff_exit(reports: Sequence[DriftReport]) -> ExitCode:
    """5 the cluster could not be reached; 3 another failure; 1 drift found; 0 in sync."""
    codes = [failure_exit(r.failure) for r in reports if r.failure is not None]
    codes += [ExitCode.DRIFT for r in reports if r.failure is None and r.drifted]
    return worst(codes)


def status_exit(statuses: Sequence[AppStatus]) -> ExitCode:
    """5 or 3 when an app's status could not be read (as :func:`diff_exit`);
    1 when an app is out of sync or not healthy."""
    codes = [failure_exit(s.failure) for s in statuses if s.failure is not None]
    unwell = any(s.sync_status.value != "Synced" or s.health.label != "Healthy" for s in statuses)
    return worst([*codes, ExitCode.DRIFT if unwell else ExitCode.OK])


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
