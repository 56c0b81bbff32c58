"""What an app's ``revision`` names, resolved against the remote's refs.

A revision is ``HEAD``, a branch, a tag, a full or abbreviated commit, or a
semver range over the tags (``>=1.2.0 <2.0.0``, ``^1.2``, ``~1.4.0``,
``1.x``, alternatives with ``||``; commas are read as spaces, as Flux does)
for release channels.  Tags may carry a ``v`` prefix; pre-releases match
only ranges that name one, as in npm and Flux.

Pure: the refs come from ``ls-remote`` output, so resolving costs no fetch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import semantic_version

from agent.errors import SourceFailed

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
SHORT_SHA = re.compile(r"^[0-9a-f]{7,39}$")
_PART = r"(?:\.(?:\d+|[xX*]))?"
_RANGE_START = re.compile(rf"^\s*(?:[<>=^~*]|v?\d+{_PART}{_PART}\s*(?:[<>=|,]|-\s|$))")
_RANGE_OPERATOR = re.compile(r"[<>^~*|xX,]|\s")


@dataclass(frozen=True)
class Resolved:
    """A revision resolved on the remote: the ref that names it (what to
    fetch) and the commit it points at."""

    refname: str  # "HEAD", "refs/heads/main", "refs/tags/v1.2.0"
    commit: str  # full SHA (of the commit, tags peeled)
    version: str | None = None  # the tag's version, for a semver range


def parse_ls_remote(output: str) -> dict[str, str]:
    """``<sha>\\t<refname>`` lines to a map; an annotated tag's peeled entry
    (``refs/tags/v1^{}``) replaces the tag object by its commit."""
    refs: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in output.splitlines():
        sha, _, name = line.strip().partition("\t")
        if not FULL_SHA.match(sha) or not name:
            continue
        if name.endswith("^{}"):
            peeled[name[:-3]] = sha
        else:
            refs[name] = sha
    refs.update(peeled)
    return refs


def is_commit(revision: str) -> bool:
    return bool(FULL_SHA.match(revision) or SHORT_SHA.match(revision))


def is_semver_range(revision: str) -> bool:
    """A range, not a plain name: ``1.2.3`` alone is a tag name, but
    ``>=1.2``, ``^1``, ``1.x``, ``1.2 - 1.4`` are ranges."""
    return bool(_RANGE_START.match(revision) and _RANGE_OPERATOR.search(revision.strip()))


def parse_range(revision: str) -> semantic_version.NpmSpec:
    try:
        return semantic_version.NpmSpec(" ".join(revision.replace(",", " ").split()))
    except ValueError as e:
        raise SourceFailed(f"revision {revision!r} is not a valid semver range: {e}") from None


def tag_version(tag: str) -> semantic_version.Version | None:
    name = tag.removeprefix("v")
    try:
        return semantic_version.Version(name)
    except ValueError:
        return None


def resolve(refs: dict[str, str], revision: str) -> Resolved | None:
    """The ref a revision names on the remote, or None.  A full or short
    commit is not resolved here: the caller looks for it locally."""
    if revision == "HEAD":
        return Resolved("HEAD", refs["HEAD"]) if "HEAD" in refs else None
    if revision.startswith("refs/"):
        return Resolved(revision, refs[revision]) if revision in refs else None
    for name in (f"refs/heads/{revision}", f"refs/tags/{revision}"):
        if name in refs:
            return Resolved(name, refs[name])
    if is_semver_range(revision):
        return best_tag(refs, revision)
    return None


def best_tag(refs: dict[str, str], revision: str) -> Resolved | None:
    """The highest tag whose version the range admits."""
    spec = parse_range(revision)
    best: tuple[semantic_version.Version, str] | None = None
    for name in refs:
        if not name.startswith("refs/tags/"):
            continue
        version = tag_version(name.removeprefix("refs/tags/"))
        if version is None or version not in spec:
            continue
        # v1.2.0 and 1.2.0 both tagged: prefer the plain one, deterministically
        if best is None or (version, name) > best:
            best = (version, name)
    if best is None:
        return None
    return Resolved(best[1], refs[best[1]], str(best[0]))
