"""A bare repository that caches one remote, fetched as little as possible.

The first fetch of a branch, tag or ``HEAD`` is shallow (``--depth=1``):
the agent needs the tree of one commit, not its history.  Later fetches
bring only the named ref, again shallow, and ``+`` accepts a force-push.
A full commit is fetched by itself when the server allows it; only an
abbreviated commit needs the whole history (``--unshallow``).

The remote URL in the mirror's ``config`` never carries credentials: they
come from :mod:`agent.source.credentials` for each command.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import SourceFailed
from agent.source.command import GitFailed, run_git
from agent.source.revisions import parse_ls_remote
from agent.source.urls import RepoUrl

EnvFactory = Callable[[], AbstractContextManager[dict[str, str]]]
_LOCAL = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


@dataclass
class Counters:
    """Network operations done, for tests, benchmarks and metrics."""

    ls_remote: int = 0
    fetch: int = 0
    export: int = 0
    by_repo: dict[str, int] = field(default_factory=dict)


class Mirror:
    def __init__(
        self,
        git_dir: Path,
        url: RepoUrl,
        env: EnvFactory,
        timeout: float,
        counters: Counters,
        *,
        authenticated: bool = False,
    ) -> None:
        self.authenticated = authenticated
        self.git_dir = git_dir
        self.url = url
        self.env = env
        self.timeout = timeout
        self.counters = counters

    def ensure(self) -> None:
        """Create the bare repository on first use (atomically: a crash
        leaves no half-made mirror behind)."""
        if (self.git_dir / "HEAD").exists():
            return
        self.git_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".init-", dir=self.git_dir.parent))
        try:
            run_git(["init", "--quiet", "--bare", "--template=", str(tmp)], env=_LOCAL, timeout=self.timeout)
            self._git(["config", "remote.origin.url", self.url.url], git_dir=tmp)
            os.replace(tmp, self.git_dir)
        except GitFailed as e:
            raise SourceFailed(f"cannot create the cache of {self.url.shown}: {e.reason}") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _git(self, args: list[str], git_dir: Path | None = None) -> str:
        return run_git(args, git_dir=git_dir or self.git_dir, env=_LOCAL, timeout=self.timeout).stdout

    def ls_remote(self) -> dict[str, str]:
        """Every ref of the remote, in one round trip: protocol v0's ref
        advertisement is one HTTP request where v2 takes two (and v2 over
        git:// stalls on small writes), and without patterns v2 sends the
        same list anyway.  Fetches still speak v2."""
        self.counters.ls_remote += 1
        args = ["-c", "protocol.version=0", "ls-remote", "--quiet", "origin"]
        try:
            with self.env() as env:
                out = run_git(args, git_dir=self.git_dir, env=env, timeout=self.timeout)
        except GitFailed as e:
            raise SourceFailed(f"cannot reach {self.url.shown}: {explain(e, self.authenticated)}") from None
        return parse_ls_remote(out.stdout)

    def fetch(self, refspecs: list[str], *, depth: int | None = 1, what: str = "") -> None:
        self.counters.fetch += 1
        self.counters.by_repo[self.url.key] = self.counters.by_repo.get(self.url.key, 0) + 1
        self._clear_stale_locks()
        args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"]
        if depth is not None:
            args.append(f"--depth={depth}")
        elif (self.git_dir / "shallow").exists():
            args.append("--unshallow")
        try:
            with self.env() as env:
                run_git([*args, "origin", *refspecs], git_dir=self.git_dir, env=env, timeout=self.timeout)
        except GitFailed as e:
            why = explain(e, self.authenticated)
            raise SourceFailed(f"cannot fetch {what or 'from'} {self.url.shown}: {why}") from None

    def _clear_stale_locks(self) -> None:
        """Remove lock files left by a git killed mid-fetch (a timeout, a
        crash): the caller holds the repository's lock, so no git is
        running here and every lock file is stale."""
        for lock in [*self.git_dir.glob("*.lock"), *(self.git_dir / "refs").rglob("*.lock")]:
            lock.unlink(missing_ok=True)

    def fetch_ref(self, refname: str) -> None:
        """Bring the commit a ref names, shallow; ``HEAD`` lands in the
        agent's own namespace (a branch named HEAD would confuse git)."""
        dest = "refs/agent/HEAD" if refname == "HEAD" else refname
        self.fetch([f"+{refname}:{dest}"], what=refname)

    def fetch_commit(self, commit: str) -> None:
        """A full commit by itself if the server serves it, else everything."""
        try:
            self.fetch([f"+{commit}:refs/agent/commits/{commit}"], what=commit[:12])
        except SourceFailed:
            self.fetch_all()

    def fetch_all(self) -> None:
        self.fetch(["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"], depth=None, what="all of")

    def commit_of(self, rev: str) -> str | None:
        """The full commit a local name or (abbreviated) commit resolves to."""
        try:
            out = run_git(
                ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
                git_dir=self.git_dir,
                env=_LOCAL,
                timeout=self.timeout,
            )
        except GitFailed:
            return None
        return out.stdout.strip() or None

    @staticmethod
    def local_ref(refname: str) -> str:
        return "refs/agent/HEAD" if refname == "HEAD" else refname


_AUTH = (
    "could not read Username",
    "could not read Password",
    "Authentication failed",
    "error: 401",
    "error: 403",
    "Permission denied (publickey",
)
_HOST_KEY = ("Host key verification failed", "No ED25519 host key is known", "host key for")


def explain(e: GitFailed, authenticated: bool) -> str:
    """Git's reason, said so that the reader knows what to do."""
    text = f"{e.stderr}\n{e.reason}"
    if e.timed_out:
        return e.reason
    if any(s in text for s in _HOST_KEY):
        return "host key verification failed: the server's key is not in knownHosts (never trusted silently)"
    if any(s in text for s in _AUTH):
        if authenticated:
            return "authentication failed: the server refused the configured credentials"
        return "authentication required: no credentials are configured for this URL (source.credentials)"
    return e.reason
