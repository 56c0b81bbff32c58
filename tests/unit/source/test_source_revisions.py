"""Resolving revisions against ls-remote output: names, HEAD, semver ranges."""

from __future__ import annotations

import pytest

from agent.errors import SourceFailed
from agent.source.revisions import is_semver_range, parse_ls_remote, resolve

A, B, C, D, E, T = (c * 40 for c in "abcdef")
LS_REMOTE = f"""\
{A}\tHEAD
{A}\trefs/heads/main
{B}\trefs/heads/release
{C}\trefs/tags/v1.0.0
{T}\trefs/tags/v1.2.0
{D}\trefs/tags/v1.2.0^{{}}
{E}\trefs/tags/v2.0.0-rc.1
{B}\trefs/tags/1.1.0
{B}\trefs/tags/not-a-version
"""


def test_parse_peels_annotated_tags() -> None:
    refs = parse_ls_remote(LS_REMOTE)
    assert refs["refs/tags/v1.2.0"] == D  # the commit, not the tag object
    assert refs["HEAD"] == A


@pytest.mark.parametrize(
    ("revision", "refname", "commit"),
    [
        ("HEAD", "HEAD", A),
        ("main", "refs/heads/main", A),
        ("release", "refs/heads/release", B),
        ("v1.0.0", "refs/tags/v1.0.0", C),
        ("refs/heads/release", "refs/heads/release", B),
        (">=1.0.0 <2.0.0", "refs/tags/v1.2.0", D),
        ("~1.1", "refs/tags/1.1.0", B),
        ("<1.1", "refs/tags/v1.0.0", C),
        ("1.0.0 - 1.1.5", "refs/tags/1.1.0", B),
        ("*", "refs/tags/v1.2.0", D),  # pre-releases only when a range names one
        (">=2.0.0-rc.0", "refs/tags/v2.0.0-rc.1", E),
        ("^1.0.0 || ^3", "refs/tags/v1.2.0", D),
    ],
)
def test_resolve(revision: str, refname: str, commit: str) -> None:
    found = resolve(parse_ls_remote(LS_REMOTE), revision)
    assert found is not None
    assert (found.refname, found.commit) == (refname, commit)


def test_unknown_names_and_empty_ranges() -> None:
    refs = parse_ls_remote(LS_REMOTE)
    assert resolve(refs, "nope") is None
    assert resolve(refs, ">=5") is None
    assert resolve({}, "HEAD") is None


def test_a_broken_range_is_a_clear_error() -> None:
    with pytest.raises(SourceFailed, match=r"revision '>=1\.0\.0 <<2' is not a valid semver range"):
        resolve({}, ">=1.0.0 <<2")


@pytest.mark.parametrize("name", ["main", "v1.2.3", "1.2.3", "release-1.x", "feature/x", "deadbeef"])
def test_plain_names_are_not_ranges(name: str) -> None:
    assert not is_semver_range(name)
