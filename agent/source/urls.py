"""Which repository URLs the agent will hand to git, and their cache key.

Git runs code for some URL forms: ``ext::`` remote helpers run a command,
and a URL that starts with ``-`` is read as an option (``--upload-pack=...``,
the root of GitPython's CVE-2022-24439; ``-oProxyCommand=`` for ssh).  Those
are refused outright.  The remaining forms are allowed by scheme, from the
configuration: ``https``, ``ssh`` and ``git`` by default; ``http`` (no
transport security) and ``file`` (local paths and ``file://``, which read
the agent's own disk) only when listed.

Nothing here imports git: the configuration validates its apps with it.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from agent.errors import SourceFailed
from agent.redact import mask_url, register_secret

KNOWN_SCHEMES = ("https", "http", "ssh", "git", "file")
DEFAULT_SCHEMES = ("https", "ssh", "git")
# user@host:path, the scp-like form of an ssh URL (no "://" before the colon)
_SCP_LIKE = re.compile(
    r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^/:@\s\[\]]+|\[[0-9A-Fa-f:.]+\]):(?P<path>(?!//).*)$"
)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
RESOLVED_SECONDS = 10.0  # how long a local repository's resolved path is used again
_resolved_at: dict[str, tuple[float, str]] = {}


@dataclass(frozen=True)
class UrlPolicy:
    """The schemes the agent may fetch from (``file`` covers local paths)."""

    schemes: tuple[str, ...] = DEFAULT_SCHEMES

    def allows(self, scheme: str) -> bool:
        return scheme in self.schemes


@dataclass(frozen=True)
class RepoUrl:
    """A checked repository location, split into what git is given (no
    credentials) and the credentials the URL carried, if any."""

    url: str  # what git fetches from: credentials removed
    scheme: str  # https, http, ssh, git or file
    key: str  # the cache key: see normalize_url
    shown: str  # the printable form (credentials masked)
    username: str | None = None
    password: str | None = None


def is_url(repo: str) -> bool:
    """A remote URL (``scheme://`` or scp-like ``user@host:path``), not a path."""
    return bool(_URL.match(repo) or (_SCP_LIKE.match(repo) and not repo.startswith(("/", "."))))


def scheme_of(repo: str) -> str:
    if _URL.match(repo):
        return repo.split("://", 1)[0].lower()
    if is_url(repo):
        return "ssh"
    if "::" in repo:
        return repo.split("::", 1)[0].lower()
    return "file"


def check_url(repo: str, policy: UrlPolicy | None = None) -> RepoUrl:
    """Refuse URLs that run code or are options in disguise, and schemes the
    policy does not allow; return the URL split from its credentials."""
    policy = policy or UrlPolicy()
    shown = mask_url(repo)
    if not repo.strip():
        raise SourceFailed("repository URL is empty")
    if repo.startswith("-"):
        raise SourceFailed(f"repository {shown!r} looks like a command-line option; refused")
    if any(ord(c) < 0x20 for c in repo):
        raise SourceFailed(f"repository {shown!r} contains control characters; refused")
    if not _URL.match(repo) and "::" in repo.split("/", 1)[0]:
        helper = repo.split("::", maxsplit=1)[0]
        raise SourceFailed(f"repository {shown!r} uses a git remote helper ({helper}::); refused")
    scheme = scheme_of(repo)
    if scheme not in KNOWN_SCHEMES:
        known = ", ".join(KNOWN_SCHEMES)
        raise SourceFailed(f"repository {shown!r}: scheme {scheme!r} is not supported (use one of {known})")
    if not policy.allows(scheme):
        what = "local repositories (paths and file://) are" if scheme == "file" else f"scheme {scheme!r} is"
        raise SourceFailed(
            f"repository {shown!r}: {what} not allowed (allowed: {', '.join(policy.schemes)}; "
            f"add {scheme!r} to source.allowedSchemes to allow it)"
        )
    if scheme == "file":
        path = repo[len("file://") :] if repo.lower().startswith("file://") else repo
        return RepoUrl(repo, "file", "file://" + _resolved(unquote(path)), shown)
    if _URL.match(repo):
        return _split_url(repo, scheme, shown)
    m = _SCP_LIKE.match(repo)
    if m is None:  # pragma: no cover - scheme_of said ssh
        raise SourceFailed(f"repository {shown!r}: not a valid ssh address")
    user, host, path = m.group("user"), m.group("host"), m.group("path")
    for part, what in ((user or "", "user"), (host, "host"), (path, "path")):
        if part.startswith("-"):
            raise SourceFailed(f"repository {shown!r}: the {what} starts with '-'; refused")
    return RepoUrl(repo, "ssh", _key("ssh", host.lower(), None, "/" + path.lstrip("/")), shown)


def _resolved(path: str) -> str:
    """``path`` with its links resolved; an absolute path is resolved again
    after RESOLVED_SECONDS, not for every checkout (a fleet's apps on one
    local repository check its URL about once a poll round each, and a
    resolve costs a system call per folder of the path)."""
    if not os.path.isabs(path):
        return str(Path(path).resolve())  # depends on the working directory: never kept
    now = time.monotonic()
    kept = _resolved_at.get(path)
    if kept is not None and now - kept[0] < RESOLVED_SECONDS:
        return kept[1]
    found = str(Path(path).resolve())
    if len(_resolved_at) >= 1024:
        _resolved_at.clear()
    _resolved_at[path] = (now, found)
    return found


def _split_url(repo: str, scheme: str, shown: str) -> RepoUrl:
    try:
        parts = urlsplit(repo)
    except ValueError:  # an unclosed "[" of an IPv6 address
        raise SourceFailed(f"repository {shown!r}: not a valid URL") from None
    try:
        port = parts.port
    except ValueError:
        raise SourceFailed(f"repository {shown!r}: invalid port") from None
    host = parts.hostname or ""
    if not host:
        raise SourceFailed(f"repository {shown!r}: no host")
    if host.startswith("-") or (parts.username or "").startswith("-"):
        raise SourceFailed(f"repository {shown!r}: the host or user starts with '-'; refused")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if password:
        register_secret(password)
    netloc = parts.netloc.rpartition("@")[2]
    if scheme == "ssh" and username:  # the ssh user is part of the address, not a secret
        netloc = f"{parts.username}@{netloc}"
        username = None
    clean = urlunsplit((scheme, netloc, parts.path, parts.query, ""))
    return RepoUrl(clean, scheme, _key(scheme, host.lower(), port, parts.path), shown, username, password)


def _key(scheme: str, host: str, port: int | None, path: str) -> str:
    path = path.rstrip("/").removesuffix(".git")
    return f"{scheme}://{host}{f':{port}' if port else ''}{path}"


def normalize_url(repo: str) -> str:
    """The cache key of a repository: scheme and host lower-cased, no
    credentials or ssh user, no trailing ``/`` or ``.git``; scp-like
    ``git@host:o/r`` is ``ssh://host/o/r``; a local path is its absolute
    ``file://`` URL.  Apps that name one repository differently share one
    mirror."""
    return check_url(repo, UrlPolicy(KNOWN_SCHEMES)).key


def matches_prefix(key: str, prefix: str) -> bool:
    """``prefix`` (a normalized URL) names ``key`` or a folder above it."""
    prefix = prefix.rstrip("/")
    return key == prefix or key.startswith(prefix + "/")
