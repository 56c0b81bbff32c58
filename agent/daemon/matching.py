"""Which apps a push concerns: same repository (in any URL form) and ref.

The same repository arrives as ``https://host/team/app.git``,
``git@host:team/app.git``, ``ssh://git@host:22/team/app`` or a web URL; all
reduce to ``host/team/app`` (lower-cased: the hosting services treat paths
case-insensitively).  Ports are dropped because the SSH and HTTPS forms of
one repository differ only there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from agent.daemon.webhooks import Push

_SCP_LIKE = re.compile(r"^(?:[A-Za-z0-9._-]+@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>(?!//).*)$")
_SHA = re.compile(r"^[0-9a-f]{7,40}$")


def repo_key(url: str) -> str:
    """``git@GitHub.com:Team/App.git`` -> ``github.com/team/app``."""
    url = url.strip()
    if "://" in url:
        try:
            parts = urlsplit(url)
        except ValueError:  # an unclosed "[": matches nothing but itself
            return "invalid:" + url
        if parts.scheme.lower() == "file":
            return "file:" + str(PurePosixPath(parts.path)).removesuffix(".git").rstrip("/")
        host, path = (parts.hostname or "").lower(), parts.path
    elif (m := _SCP_LIKE.match(url)) and not url.startswith("/"):
        host, path = m.group("host").lower(), m.group("path")
    else:  # a local path
        return "file:" + str(PurePosixPath(url)).removesuffix(".git").rstrip("/")
    path = path.strip("/").removesuffix(".git").lower()
    return f"{host}/{path}"


def ref_matches(revision: str, push: Push) -> bool:
    """An app at ``revision`` follows the pushed ref.  ``HEAD`` follows the
    default branch (any branch when the payload does not say which is the
    default); a commit SHA follows nothing."""
    if revision == "HEAD":
        branch = push.ref.removeprefix("refs/heads/")
        if branch == push.ref:  # a tag
            return False
        return push.default_branch is None or branch == push.default_branch
    if _SHA.match(revision):
        return False
    return push.ref in (revision, f"refs/heads/{revision}", f"refs/tags/{revision}")


def selected(apps: Iterable[tuple[str, str, str]], pushes: Iterable[Push]) -> list[str]:
    """Names of the apps, given as ``(name, repo location, revision)``,
    that any push concerns."""
    pushes = list(pushes)
    out = []
    for name, location, revision in apps:
        key = repo_key(location)
        for push in pushes:
            if any(repo_key(u) == key for u in push.urls) and ref_matches(revision, push):
                out.append(name)
                break
    return out
