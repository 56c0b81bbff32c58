"""Immutable checkouts: one folder per commit, exported once, removed when
no reconcile has used it for a while.

A checkout is ``checkouts/<commit>/``; its last use is the modification time
of ``checkouts/<commit>.used`` (kept outside the tree, so the render never
sees it).  Apps on the same commit share the folder, and nothing ever
changes under a render: a new commit is a new folder.

The export streams ``git archive`` through :mod:`tarfile`'s ``data`` filter,
which refuses a symlink or hard link that points outside the tree (an
absolute target or one climbing out with ``..``): such a repository is
refused, like Argo CD refuses out-of-bounds symlinks, rather than letting
a render read the agent's own files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from filelock import FileLock

from agent.errors import SourceFailed
from agent.redact import redact

_LOCK = ".lock"


class Checkouts:
    def __init__(self, root: Path, ttl: float) -> None:
        self.root = root
        self.ttl = ttl
        self._lock = FileLock(str(root / _LOCK)) if root.is_dir() else None
        self._last_prune = 0.0
        self._marked: dict[str, float] = {}  # commit -> when this process last marked it used

    def _guard(self) -> FileLock:
        if self._lock is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(str(self.root / _LOCK))
        return self._lock

    def get(self, commit: str) -> Path | None:
        """The commit's folder if exported, marked as used now."""
        dest = self.root / commit
        now = time.time()
        if now - self._marked.get(commit, -self.ttl) < self.ttl / 8 and dest.is_dir():
            # marked moments ago: no prune (of any process) takes a folder used
            # within ttl, so neither the lock nor a new mark is needed (a fleet's
            # apps on one commit ask for it about once a poll round each)
            return dest
        with self._guard():
            if not dest.is_dir():
                return None
            (self.root / f"{commit}.used").touch()
        self._marked[commit] = now
        return dest

    def export(self, git_dir: Path, commit: str, shown: str, timeout: float) -> Path:
        """Export the commit's tree (callers try :meth:`get` first)."""
        self._guard()
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=self.root))
        try:
            _extract(git_dir, commit, tmp, shown, timeout)
            with self._guard():
                dest = self.root / commit
                if not dest.is_dir():
                    os.replace(tmp, dest)
                (self.root / f"{commit}.used").touch()
            return dest
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def prune(self, now: float | None = None, *, force: bool = False) -> list[str]:
        """Remove checkouts unused for ``ttl`` seconds (and leftovers of
        interrupted exports); runs at most every ``ttl / 4`` unless forced.
        Returns the commits removed."""
        now = time.time() if now is None else now
        if not force and now - self._last_prune < self.ttl / 4:
            return []
        self._last_prune = now
        self._marked = {c: t for c, t in self._marked.items() if now - t < self.ttl / 8}
        if not self.root.is_dir():
            return []
        removed: list[str] = []
        trash: list[Path] = []
        with self._guard():
            for entry in self.root.iterdir():
                if entry.name.startswith(".") and entry.name != _LOCK and entry.is_dir():
                    if now - entry.stat().st_mtime > self.ttl:
                        trash.append(entry)  # an export interrupted by a crash
                    continue
                if not entry.is_dir():
                    continue
                marker = self.root / f"{entry.name}.used"
                used = marker.stat().st_mtime if marker.exists() else entry.stat().st_mtime
                if now - used > self.ttl:
                    gone = self.root / f".trash-{entry.name}"
                    os.replace(entry, gone)
                    marker.unlink(missing_ok=True)
                    trash.append(gone)
                    removed.append(entry.name)
        for path in trash:
            shutil.rmtree(path, ignore_errors=True)
        return removed


def _extract(git_dir: Path, commit: str, dest: Path, shown: str, timeout: float) -> None:
    where = f"{shown} at {commit[:12]}"
    deadline = time.monotonic() + timeout
    with subprocess.Popen(
        ["git", f"--git-dir={git_dir}", "archive", "--format=tar", commit],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull},
    ) as proc:
        if proc.stdout is None or proc.stderr is None:  # pragma: no cover - PIPE was asked for
            raise SourceFailed(f"cannot export {where}: no output from git archive")
        extracted = 0
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                for member in tar:
                    if time.monotonic() > deadline:
                        raise SourceFailed(f"cannot export {where}: timed out after {timeout:g}s")
                    tar.extract(member, dest, filter="data")
                    extracted += 1
        except tarfile.ReadError:
            if extracted:  # a cut stream; an empty tree is an archive with no header
                proc.kill()
                raise SourceFailed(f"cannot export {where}: the archive ended early") from None
        except tarfile.FilterError as e:
            proc.kill()
            member = e.tarinfo
            raise SourceFailed(
                f"{where}: {member.name} links to {member.linkname!r}, outside the repository; refused"
            ) from None
        except (tarfile.TarError, OSError) as e:
            proc.kill()
            raise SourceFailed(f"cannot export {where}: {redact(str(e))}") from None
        finally:
            err = proc.stderr.read().decode("utf-8", "replace")
            proc.wait()
        if proc.returncode != 0:
            raise SourceFailed(f"cannot export {where}: {redact(err.strip()) or 'git archive failed'}")
