"""Fetch an app's repository and hand out an immutable checkout of one commit.

Layout of the cache (under the agent's state directory)::

    repos/<sha256 of normalized URL>/      bare mirror (shallow), fetched in place
    repos/<...>.lock                       the repository's lock, across processes
    checkouts/<commit sha>/                the commit's tree, exported once
    gnupg/<sha256 of a keyring>/           a keyring imported for verification

A poll asks the remote first (``ls-remote``): a ref that has not moved
costs no fetch, and a commit already exported costs no export.  Reconciles
of apps on one repository take turns under a lock; one that waited while
another asked the remote reuses that answer, so apps polled together on one
repository and revision share one ``ls-remote``, one fetch and one checkout;
inside :meth:`GitSource.round` so do apps of one round that run one after
another (a webhook's, a command's over many apps).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import SourceFailed
from agent.models import Revision
from agent.source.checkouts import Checkouts
from agent.source.credentials import credential_for, git_environment
from agent.source.mirror import Counters, Mirror
from agent.source.revisions import FULL_SHA, SHORT_SHA, is_semver_range, resolve
from agent.source.settings import SourceSettings, source_settings
from agent.source.signatures import SignaturePolicy, verify_commit
from agent.source.urls import KNOWN_SCHEMES, check_url

if TYPE_CHECKING:
    from agent.config import AgentConfig

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()
_rounds = threading.local()  # .since: the round this thread's checkouts belong to (GitSource.round)


@dataclass(frozen=True)
class Checkout:
    root: Path
    revision: Revision
    signed_by: str | None = None  # who signed the commit, when the app verifies

    def path(self, rel: str) -> Path:
        """A path inside the checkout; one that leaves it (``..``, an
        absolute path, a symlink resolving outside) is refused."""
        target = (self.root / rel).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise SourceFailed(f"{self.revision.repo}: path {rel!r} leaves the repository; refused")
        return target


@dataclass
class _Answer:
    asked_at: float
    refs: dict[str, str]


def _flock(path: str, wait: float) -> int | None:
    """The lock file ``path`` taken (``flock``, as the filelock package takes
    it on Unix, so other processes on the state folder agree), trying for
    ``wait`` seconds: its descriptor, or None.  Every checkout of every app
    takes it, and the package's own bookkeeping cost ten times the lock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    deadline, pause = time.monotonic() + wait, 0.005
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return None
                time.sleep(pause)
                pause = min(pause * 2, 0.1)
    except BaseException:
        os.close(fd)
        raise


def _thread_lock(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


class GitSource:
    """The repository cache rooted at ``cache_dir``."""

    def __init__(self, cache_dir: Path, settings: SourceSettings | None = None) -> None:
        self.cache_dir = cache_dir
        self.settings = settings or SourceSettings()
        self.counters = Counters()
        self.checkouts = Checkouts(cache_dir / "checkouts", self.settings.checkout_ttl)
        self._answers: dict[str, _Answer] = {}
        self._verified: dict[tuple[str, SignaturePolicy], str] = {}
        self._present: set[tuple[str, str]] = set()  # (repository, commit) known to be in its mirror
        self.on_checkout: Callable[[float], None] | None = None  # told each checkout's seconds (metrics)

    @classmethod
    def from_config(cls, config: AgentConfig) -> GitSource:
        return cls(config.resolve(config.state_dir), source_settings(config))

    def checkout(self, repo: str, ref: str, *, verify: SignaturePolicy | None = None) -> Checkout:
        """Resolve ``ref`` (fetching only when it moved) and export its commit."""
        started = time.monotonic()
        try:
            return self._checkout(repo, ref, verify)
        finally:
            if self.on_checkout is not None:
                self.on_checkout(time.monotonic() - started)

    @contextmanager
    def round(self, since: float) -> Iterator[None]:
        """Checkouts made in this thread inside the block take the remote's
        refs from any ``ls-remote`` asked at or after ``since`` (a monotonic
        time: when a poll round, a webhook or a command began), so the apps
        of one round share one ``ls-remote`` per repository, even when they
        run one after another."""
        before = getattr(_rounds, "since", None)
        _rounds.since = since
        try:
            yield
        finally:
            _rounds.since = before

    def _checkout(self, repo: str, ref: str, verify: SignaturePolicy | None) -> Checkout:
        since = getattr(_rounds, "since", None)
        asked = time.monotonic() if since is None else min(since, time.monotonic())
        url = check_url(repo, self.settings.policy)
        credential = credential_for(self.settings.credentials, url)
        git_dir = self.cache_dir / "repos" / hashlib.sha256(url.key.encode()).hexdigest()[:32]
        schemes = [s for s in KNOWN_SCHEMES if self.settings.policy.allows(s)]
        timeout = self.settings.timeout
        authenticated = url.password is not None or (
            credential is not None and (credential.password is not None or credential.ssh_key is not None)
        )
        mirror = Mirror(
            git_dir,
            url,
            lambda: git_environment(url, credential, schemes, timeout),
            timeout,
            self.counters,
            authenticated=authenticated,
        )
        with self._locked(url.key, git_dir):
            mirror.ensure()
            commit = self._resolve(mirror, ref, asked)
            signed_by = self._verify(mirror, commit, verify) if verify is not None else None
            root = self.checkouts.get(commit)
            if root is None:
                self.counters.export += 1
                root = self.checkouts.export(git_dir, commit, url.shown, timeout)
        self.checkouts.prune()
        return Checkout(root, Revision(repo=url.shown, ref=ref, commit=commit), signed_by)

    @contextmanager
    def _locked(self, key: str, git_dir: Path) -> Iterator[None]:
        """One reconcile at a time per repository, in this process (thread
        lock) and across processes sharing the state directory (file lock)."""
        wait = self.settings.timeout * 3
        thread_lock = _thread_lock(str(git_dir))
        if not thread_lock.acquire(timeout=wait):
            raise SourceFailed(f"{key}: the repository stayed busy for {wait:g}s; try again")
        try:
            git_dir.parent.mkdir(parents=True, exist_ok=True)
            fd = _flock(str(git_dir) + ".lock", wait)
            if fd is None:
                raise SourceFailed(f"{key}: the repository stayed locked for {wait:g}s; try again")
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
        finally:
            thread_lock.release()

    def _refs(self, mirror: Mirror, asked: float) -> dict[str, str]:
        """The remote's refs: asked now, unless another reconcile asked
        after this one started waiting (its answer is as fresh)."""
        answer = self._answers.get(mirror.url.key)
        if answer is not None and answer.asked_at >= asked:
            return answer.refs
        started = time.monotonic()
        refs = mirror.ls_remote()
        self._answers[mirror.url.key] = _Answer(started, refs)
        return refs

    def _resolve(self, mirror: Mirror, ref: str, asked: float) -> str:
        shown = mirror.url.shown
        if FULL_SHA.match(ref):
            commit = mirror.commit_of(ref)
            if commit is None:
                mirror.fetch_commit(ref)
                commit = mirror.commit_of(ref)
            if commit is None:
                raise SourceFailed(f"{shown}: commit {ref} not found")
            return commit
        if SHORT_SHA.match(ref):
            commit = mirror.commit_of(ref)
            if commit is not None:
                return commit  # commits never change: no need to ask the remote
        refs = self._refs(mirror, asked)
        found = resolve(refs, ref)
        if found is None and SHORT_SHA.match(ref):
            mirror.fetch_all()
            commit = mirror.commit_of(ref)
            if commit is None:
                raise SourceFailed(f"{shown}: commit {ref} not found")
            return commit
        if found is None:
            raise SourceFailed(f"{shown}: {_not_found(refs, ref)}")
        if (mirror.url.key, found.commit) in self._present:
            return found.commit  # the usual poll: nothing moved, no local lookup either
        commit = mirror.commit_of(found.commit)
        if commit is None:
            mirror.fetch_ref(found.refname)
            # the ref may have moved between ls-remote and fetch: take what came
            commit = mirror.commit_of(found.commit) or mirror.commit_of(mirror.local_ref(found.refname))
        if commit is None:
            raise SourceFailed(f"{shown}: {ref!r} is at {found.commit[:12]}, which the fetch did not bring")
        self._present.add((mirror.url.key, commit))
        return commit

    def _verify(self, mirror: Mirror, commit: str, policy: SignaturePolicy) -> str:
        known = self._verified.get((commit, policy))
        if known is not None:
            return known
        signer = verify_commit(
            mirror.git_dir,
            commit,
            policy,
            gnupg_root=self.cache_dir / "gnupg",
            shown=mirror.url.shown,
            timeout=self.settings.timeout,
        )
        self._verified[(commit, policy)] = signer
        return signer


def _not_found(refs: dict[str, str], ref: str) -> str:
    if is_semver_range(ref):
        tags = sorted(r.removeprefix("refs/tags/") for r in refs if r.startswith("refs/tags/"))
        listed = ", ".join(tags[-8:]) if tags else "none"
        return f"no tag matches the semver range {ref!r} (tags: {listed})"
    if ref == "HEAD":
        return "the remote has no HEAD (an empty repository?)"
    return f"revision {ref!r} not found (no such branch or tag)"
