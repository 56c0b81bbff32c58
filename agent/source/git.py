"""Fetch an app's repository and hand out an immutable checkout of one commit.

Layout of the cache (under the agent's state directory)::

    repos/<sha256 of normalized URL>/      bare mirror, fetched in place
    checkouts/<commit sha>/                the commit's tree, exported once

A checkout is keyed by its commit, so it never changes under a render and
apps on the same commit share it.  Exports go through ``git archive`` and
Python's ``tarfile`` "data" filter, which refuses links that leave the tree.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import git

from agent.errors import SourceError
from agent.models import Revision
from agent.redact import mask_url

ALLOWED_SCHEMES = ("https", "http", "ssh", "git", "file")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:")
_SHA = re.compile(r"^[0-9a-f]{7,40}$")
_NETWORK_TIMEOUT = 120  # seconds, for clone/fetch/ls-remote
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class Checkout:
    root: Path
    revision: Revision


def normalize_url(repo: str) -> str:
    """The cache key of a repository: scheme and host lower-cased, no
    credentials, no trailing ``/`` or ``.git``."""
    if "://" not in repo and not _SCP_LIKE.match(repo):
        return "file://" + str(Path(repo).resolve())
    if _SCP_LIKE.match(repo):
        user_host, _, path = repo.partition(":")
        repo = f"ssh://{user_host}/{path}"
    parts = urlsplit(repo)
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    path = parts.path.rstrip("/").removesuffix(".git")
    return f"{parts.scheme.lower()}://{host}{port}{path}"


def check_url(repo: str) -> None:
    """Refuse URLs that run code or are options in disguise."""
    if repo.startswith("-"):
        raise SourceError(f"repository {mask_url(repo)!r} looks like a command-line option; refused")
    if "::" in repo.split("/", 1)[0] or repo.startswith("ext::"):
        raise SourceError(f"repository {mask_url(repo)!r} uses a git remote helper; refused")
    if "://" in repo:
        scheme = repo.split("://", 1)[0].lower()
        if scheme not in ALLOWED_SCHEMES:
            raise SourceError(
                f"repository {mask_url(repo)!r}: scheme {scheme!r} is not allowed "
                f"(allowed: {', '.join(ALLOWED_SCHEMES)})"
            )


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def _git_env() -> dict[str, str]:
    # Never prompt for credentials on a terminal; fail instead.
    return {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "echo", "SSH_ASKPASS": "echo"}


class GitSource:
    """Repository cache rooted at ``cache_dir``."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir

    def checkout(self, repo: str, ref: str) -> Checkout:
        check_url(repo)
        key = normalize_url(repo)
        shown = mask_url(repo)
        mirror_dir = self.cache_dir / "repos" / hashlib.sha256(key.encode()).hexdigest()[:32]
        with _lock_for(key):
            mirror = self._mirror(repo, shown, mirror_dir)
            commit = self._resolve(mirror, repo, shown, ref)
            root = self._export(mirror, commit, shown)
        return Checkout(root, Revision(repo=shown, ref=ref, commit=commit))

    # -- stages ---------------------------------------------------------------
    def _mirror(self, repo: str, shown: str, path: Path) -> git.Repo:
        if (path / "HEAD").exists():
            return git.Repo(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".clone-", dir=path.parent))
        try:
            git.Repo.clone_from(repo, tmp, mirror=True, env=_git_env(), kill_after_timeout=_NETWORK_TIMEOUT)
            os.replace(tmp, path)
            return git.Repo(path)
        except git.GitCommandError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise SourceError(f"cannot clone {shown}: {_git_reason(e)}") from None

    def _resolve(self, mirror: git.Repo, repo: str, shown: str, ref: str) -> str:
        """Resolve ``ref`` to a commit, asking the remote first (``ls-remote``)
        so that a ref that has not moved costs no fetch."""
        if _SHA.match(ref):
            commit = self._local_commit(mirror, ref)
            if commit is None:
                self._fetch(mirror, shown)
                commit = self._local_commit(mirror, ref)
            if commit is None:
                raise SourceError(f"{shown}: commit {ref} not found")
            return commit
        remote = self._ls_remote(mirror, shown, ref)
        if remote is None:
            raise SourceError(f"{shown}: revision {ref!r} not found (no such branch or tag)")
        if self._local_commit(mirror, remote) is None:
            self._fetch(mirror, shown)
        commit = self._local_commit(mirror, remote)
        if commit is None:
            raise SourceError(f"{shown}: {ref!r} points at {remote[:12]}, which the fetch did not bring")
        return commit

    def _ls_remote(self, mirror: git.Repo, shown: str, ref: str) -> str | None:
        try:
            out = str(mirror.git.ls_remote("origin", env=_git_env(), kill_after_timeout=_NETWORK_TIMEOUT))
        except git.GitCommandError as e:
            raise SourceError(f"cannot reach {shown}: {_git_reason(e)}") from None
        refs: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, name = line.partition("\t")
            refs[name] = sha
        wanted = (
            ["HEAD"]
            if ref == "HEAD"
            else [ref, f"refs/heads/{ref}", f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}"]
        )
        for name in wanted:
            if name in refs:
                return refs[name]
        return None

    def _fetch(self, mirror: git.Repo, shown: str) -> None:
        try:
            mirror.git.fetch(
                "origin",
                "--prune",
                "+refs/heads/*:refs/heads/*",
                "+refs/tags/*:refs/tags/*",
                env=_git_env(),
                kill_after_timeout=_NETWORK_TIMEOUT,
            )
        except git.GitCommandError as e:
            raise SourceError(f"cannot fetch {shown}: {_git_reason(e)}") from None

    @staticmethod
    def _local_commit(mirror: git.Repo, rev: str) -> str | None:
        try:
            return str(mirror.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}"))
        except git.GitCommandError:
            return None

    def _export(self, mirror: git.Repo, commit: str, shown: str) -> Path:
        dest = self.cache_dir / "checkouts" / commit
        if dest.is_dir():
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=dest.parent))
        try:
            stream = io.BytesIO()
            mirror.archive(stream, treeish=commit, format="tar")
            stream.seek(0)
            with tarfile.open(fileobj=stream) as tar:
                tar.extractall(tmp, filter="data")
            os.replace(tmp, dest)
        except (git.GitCommandError, tarfile.TarError, OSError) as e:
            shutil.rmtree(tmp, ignore_errors=True)
            if dest.is_dir():  # another process exported it first
                return dest
            raise SourceError(f"cannot export {commit[:12]} of {shown}: {e}") from None
        return dest


def _git_reason(e: git.GitCommandError) -> str:
    stderr = str(e.stderr or "").strip().replace("stderr: ", "").strip("' \n")
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    reason = lines[-1] if lines else f"git exited with {e.status}"
    return mask_url(reason.removeprefix("fatal: "))
