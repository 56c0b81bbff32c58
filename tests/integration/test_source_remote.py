"""The source stage against real git servers on 127.0.0.1: ``git daemon``
(git://) and smart HTTP (``git http-backend`` behind basic auth)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.errors import SourceFailed
from agent.source import Credential, GitSource, SecretSource, SourceSettings, UrlPolicy
from tests.support.git_servers import GitDaemon, SmartHttp
from tests.support.net import closed_port, silent_server
from tests.support.repos import GitRepo

TOKEN = "tok-3f9a7c1e5b2d-secret"


class Served:
    """A working repository pushed to a bare one that the servers export."""

    def __init__(self, root: Path) -> None:
        self.root = root / "srv"
        self.bare = self.root / "app.git"
        self.work = GitRepo(root / "work")
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.bare)], check=True)
        self.work.git("remote", "add", "origin", str(self.bare))

    def commit(self, text: str, *, tag: str | None = None, annotated: bool = False) -> str:
        self.work.write("app.yaml", f"value: {text}\n")
        sha = self.work.commit(text)
        if tag:
            self.work.git("tag", *(["-a", "-m", tag] if annotated else []), tag)
        self.push()
        return sha

    def push(self, *, force: bool = False) -> None:
        self.work.git("push", "-q", *(["--force"] if force else []), "origin", "main", "--tags")


@pytest.fixture
def served(tmp_path: Path) -> Served:
    return Served(tmp_path)


@pytest.fixture
def daemon(served: Served) -> Iterator[GitDaemon]:
    d = GitDaemon(served.root)
    yield d
    d.stop()


@pytest.fixture
def http(served: Served) -> Iterator[SmartHttp]:
    h = SmartHttp(served.root, "bot", TOKEN)
    yield h
    h.stop()


def make_source(tmp_path: Path, *credentials: Credential, timeout: float = 30) -> GitSource:
    settings = SourceSettings(policy=UrlPolicy(("git", "http")), credentials=credentials, timeout=timeout)
    return GitSource(tmp_path / "cache", settings)


def token_credential(http: SmartHttp, monkeypatch: pytest.MonkeyPatch, token: str = TOKEN) -> Credential:
    monkeypatch.setenv("TEST_GIT_TOKEN", token)
    return Credential(prefix=http.url(""), username="bot", password=SecretSource(env="TEST_GIT_TOKEN"))


@pytest.fixture(params=["git", "http"])
def remote(
    request: pytest.FixtureRequest, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, GitSource]:
    """The served repository's URL and a source, for each transport."""
    if request.param == "git":
        server: GitDaemon | SmartHttp = request.getfixturevalue("daemon")
        return server.url("app.git"), make_source(tmp_path)
    server = request.getfixturevalue("http")
    return server.url("app.git"), make_source(tmp_path, token_credential(server, monkeypatch))


def test_first_fetch_no_change_poll_and_new_commit(served: Served, remote: tuple[str, GitSource]) -> None:
    url, source = remote
    first = served.commit("one")
    got = source.checkout(url, "main")
    assert got.revision.commit == first
    assert (got.root / "app.yaml").read_text() == "value: one\n"
    assert (source.counters.ls_remote, source.counters.fetch, source.counters.export) == (1, 1, 1)

    again = source.checkout(url, "main")  # nothing moved: no fetch, no export
    assert again.root == got.root
    assert (source.counters.ls_remote, source.counters.fetch, source.counters.export) == (2, 1, 1)

    second = served.commit("two")
    moved = source.checkout(url, "main")
    assert moved.revision.commit == second
    assert (moved.root / "app.yaml").read_text() == "value: two\n"
    assert (got.root / "app.yaml").read_text() == "value: one\n"  # the old checkout never changes
    assert (source.counters.fetch, source.counters.export) == (2, 2)


def test_no_change_poll_sends_no_fetch_to_the_server(
    served: Served, http: SmartHttp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served.commit("one")
    source = make_source(tmp_path, token_credential(http, monkeypatch))
    source.checkout(http.url("app.git"), "main")
    assert http.commands().count("fetch") == 1
    before = len(http.requests)
    for _ in range(3):
        source.checkout(http.url("app.git"), "main")
    assert http.commands().count("fetch") == 1  # the server sent no pack
    polls = http.requests[before:]
    assert [(r.method, r.path) for r in polls] == [("GET", "/app.git/info/refs")] * 3  # one request each


def test_force_push_is_followed(served: Served, remote: tuple[str, GitSource]) -> None:
    url, source = remote
    served.commit("one")
    served.commit("bad")
    assert (source.checkout(url, "main").root / "app.yaml").read_text() == "value: bad\n"
    served.work.git("reset", "-q", "--hard", "HEAD~1")
    served.work.write("app.yaml", "value: rewritten\n")
    rewritten = served.work.commit("rewritten")
    served.push(force=True)
    got = source.checkout(url, "main")
    assert got.revision.commit == rewritten
    assert (got.root / "app.yaml").read_text() == "value: rewritten\n"


def test_tags_and_semver_ranges(served: Served, remote: tuple[str, GitSource]) -> None:
    url, source = remote
    v100 = served.commit("1.0.0", tag="v1.0.0")
    v120 = served.commit("1.2.0", tag="v1.2.0", annotated=True)
    served.commit("1.3.0-rc.1", tag="v1.3.0-rc.1")
    v200 = served.commit("2.0.0", tag="2.0.0")
    served.commit("untagged")

    assert source.checkout(url, "v1.0.0").revision.commit == v100
    annotated = source.checkout(url, "v1.2.0")
    assert annotated.revision.commit == v120  # the commit, not the tag object
    assert source.checkout(url, ">=1.2.0 <2.0.0").revision.commit == v120  # pre-releases excluded
    assert source.checkout(url, "^1.0").revision.commit == v120
    assert source.checkout(url, "~1.0.0").revision.commit == v100
    assert source.checkout(url, ">=1.0.0, <3").revision.commit == v200
    channel = source.checkout(url, "1.x")
    assert channel.revision.ref == "1.x" and (channel.root / "app.yaml").read_text() == "value: 1.2.0\n"

    v140 = served.commit("1.4.0", tag="v1.4.0")  # a new release on the channel
    assert source.checkout(url, "1.x").revision.commit == v140

    with pytest.raises(SourceFailed, match=r"no tag matches the semver range '>=3\.0\.0' \(tags: .*v1\.4\.0"):
        source.checkout(url, ">=3.0.0")
    with pytest.raises(SourceFailed, match="revision 'nope' not found"):
        source.checkout(url, "nope")


def test_full_and_short_commits(served: Served, remote: tuple[str, GitSource]) -> None:
    url, source = remote
    old = served.commit("old")
    served.commit("new")
    served.commit("newest")
    source.checkout(url, "main")  # a shallow mirror: only the tip is here
    full = source.checkout(url, old)
    assert full.revision.commit == old and (full.root / "app.yaml").read_text() == "value: old\n"
    polls = source.counters.ls_remote
    assert source.checkout(url, old).revision.commit == old
    assert source.counters.ls_remote == polls  # a pinned commit never changes: no network at all
    assert source.checkout(url, old[:9]).revision.commit == old
    with pytest.raises(SourceFailed, match="commit 0123456789ab not found"):
        source.checkout(url, "0123456789ab")


def test_apps_on_one_repository_and_revision_share_one_fetch(
    served: Served, remote: tuple[str, GitSource]
) -> None:
    url, source = remote
    served.commit("one")
    roots: list[Path] = []
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            roots.append(source.checkout(url, "main").root)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=poll) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(roots)) == 1
    assert (source.counters.fetch, source.counters.export) == (1, 1)
    assert source.counters.ls_remote < 12  # those that waited reused a fresher answer


def test_wrong_token_is_refused_and_never_shown(
    served: Served, http: SmartHttp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served.commit("one")
    wrong = "wrong-token-8d1c4e7a"
    source = make_source(tmp_path, token_credential(http, monkeypatch, wrong))
    with pytest.raises(SourceFailed) as e:
        source.checkout(http.url("app.git"), "main")
    assert "authentication failed" in str(e.value)
    assert wrong not in str(e.value)
    inline = f"http://bot:{wrong}@127.0.0.1:{http.port}/app.git"
    with pytest.raises(SourceFailed) as e:
        make_source(tmp_path / "b").checkout(inline, "main")
    assert wrong not in str(e.value) and "http://***@127.0.0.1" in str(e.value)
    with pytest.raises(SourceFailed, match="authentication required"):
        make_source(tmp_path / "c").checkout(http.url("app.git"), "main")


def test_token_from_file_or_url_never_lands_on_disk(served: Served, http: SmartHttp, tmp_path: Path) -> None:
    commit = served.commit("one")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    from_file = Credential(prefix=http.url(""), username="bot", password=SecretSource(file=token_file))
    source = make_source(tmp_path, from_file)
    assert source.checkout(http.url("app.git"), "main").revision.commit == commit
    inline = make_source(tmp_path / "inline")
    got = inline.checkout(f"http://bot:{TOKEN}@127.0.0.1:{http.port}/app.git", "main")
    assert got.revision.commit == commit and TOKEN not in got.revision.repo
    for cache in (tmp_path / "cache", tmp_path / "inline" / "cache"):
        for path in cache.rglob("*"):
            assert TOKEN not in str(path)
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes(), path


def test_unreachable_server_is_a_masked_source_error(tmp_path: Path) -> None:
    source = make_source(tmp_path)
    url = f"http://bot:{TOKEN}@127.0.0.1:{closed_port()}/app.git"
    with pytest.raises(SourceFailed, match="cannot reach http://\\*\\*\\*@127.0.0.1") as e:
        source.checkout(url, "main")
    assert TOKEN not in str(e.value)
    with pytest.raises(SourceFailed, match="cannot reach git://127.0.0.1"):
        source.checkout(f"git://127.0.0.1:{closed_port()}/app.git", "main")


@pytest.mark.parametrize("scheme", ["git", "http"])
def test_a_server_that_never_answers_times_out(scheme: str, tmp_path: Path) -> None:
    source = make_source(tmp_path, timeout=1)
    with silent_server() as port, pytest.raises(SourceFailed, match="timed out after 1s"):
        source.checkout(f"{scheme}://127.0.0.1:{port}/app.git", "main")
