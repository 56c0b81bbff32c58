"""The source stage against real git repositories on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import SourceFailed
from agent.source import GitSource, SourceSettings, UrlPolicy, normalize_url
from agent.source.urls import KNOWN_SCHEMES
from tests.support.repos import GitRepo


@pytest.fixture
def source(tmp_path: Path) -> GitSource:
    return GitSource(tmp_path / "cache", SourceSettings(policy=UrlPolicy(KNOWN_SCHEMES)))


def test_checkout_of_branch_tag_commit_and_head(repo: GitRepo, source: GitSource) -> None:
    repo.write("a.txt", "one")
    first = repo.commit("one")
    repo.git("tag", "v1")
    repo.write("a.txt", "two")
    second = repo.commit("two")

    head = source.checkout(str(repo.path), "HEAD")
    assert head.revision.commit == second
    assert (head.root / "a.txt").read_text() == "two"
    assert source.checkout(str(repo.path), "main").revision.commit == second
    tagged = source.checkout(str(repo.path), "v1")
    assert tagged.revision.commit == first and (tagged.root / "a.txt").read_text() == "one"
    assert source.checkout(str(repo.path), first[:10]).revision.commit == first
    assert source.checkout(f"file://{repo.path}", "main").revision.commit == second


def test_checkouts_are_immutable_per_commit(repo: GitRepo, source: GitSource) -> None:
    repo.write("a.txt", "one")
    repo.commit()
    first = source.checkout(str(repo.path), "main")
    repo.write("a.txt", "two")
    repo.commit()
    second = source.checkout(str(repo.path), "main")
    assert first.root != second.root
    assert (first.root / "a.txt").read_text() == "one"  # untouched by the later commit


def test_unmoved_ref_costs_no_fetch(repo: GitRepo, source: GitSource) -> None:
    repo.write("a.txt", "one")
    repo.commit()
    source.checkout(str(repo.path), "main")
    assert (source.counters.ls_remote, source.counters.fetch, source.counters.export) == (1, 1, 1)
    source.checkout(str(repo.path), "main")
    assert (source.counters.ls_remote, source.counters.fetch, source.counters.export) == (2, 1, 1)
    repo.write("a.txt", "two")
    new = repo.commit()
    assert source.checkout(str(repo.path), "main").revision.commit == new
    assert (source.counters.fetch, source.counters.export) == (2, 2)  # the ref moved: one fetch


def test_uncommitted_files_are_not_read(repo: GitRepo, source: GitSource) -> None:
    repo.write("a.txt", "committed")
    repo.commit()
    repo.write("a.txt", "dirty")
    assert (source.checkout(str(repo.path), "HEAD").root / "a.txt").read_text() == "committed"


def test_unknown_revision(repo: GitRepo, source: GitSource) -> None:
    repo.commit("empty")
    with pytest.raises(SourceFailed, match="revision 'nope' not found"):
        source.checkout(str(repo.path), "nope")
    with pytest.raises(SourceFailed, match="commit 0123456789ab not found"):
        source.checkout(str(repo.path), "0123456789ab")


def test_unreachable_repository_is_a_source_error(tmp_path: Path, source: GitSource) -> None:
    with pytest.raises(SourceFailed, match="cannot reach"):
        source.checkout(str(tmp_path / "nothing-here"), "main")


@pytest.mark.parametrize(
    "url",
    [
        "ext::sh -c touch% /tmp/pwned",
        "--upload-pack=touch /tmp/pwned",
        "-oProxyCommand=x",
        "ftp://example.invalid/r.git",
    ],
)
def test_dangerous_urls_are_refused(url: str, source: GitSource) -> None:
    with pytest.raises(SourceFailed, match="refused|not allowed|not supported"):
        source.checkout(url, "main")


def test_errors_never_show_credentials(source: GitSource) -> None:
    with pytest.raises(SourceFailed) as e:
        source.checkout("ftp://user:hunter2token@127.0.0.1/r.git", "main")
    assert "hunter2token" not in str(e.value)


def test_normalize_url() -> None:
    assert normalize_url("https://GitHub.com/o/r.git/") == "https://github.com/o/r"
    assert normalize_url("https://u:t@github.com/o/r") == "https://github.com/o/r"
    assert normalize_url("git@github.com:o/r.git") == "ssh://github.com/o/r"
    assert normalize_url("/tmp/x/../y").startswith("file:///")
