"""The source stage over SSH against a real ``sshd`` on 127.0.0.1: a private
key from a file or an environment variable, and host keys always checked."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.errors import SourceFailed
from agent.source import Credential, GitSource, SecretSource, SourceSettings, UrlPolicy
from tests.support.repos import GitRepo
from tests.support.sshd import SshServer, find_sshd


def _key(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


@pytest.fixture(scope="module")
def sshd() -> str:
    found, why = find_sshd()
    if found is None:
        pytest.skip(why)
    return found


@pytest.fixture
def setup(sshd: str, tmp_path: Path) -> Iterator[tuple[SshServer, Path, Path, str]]:
    """A server accepting ``deploy``'s key, that key, a stranger's key, and the
    URL of a served repository."""
    keys = tmp_path / "keys"
    keys.mkdir()
    deploy, stranger = _key(keys, "deploy"), _key(keys, "stranger")
    work = GitRepo(tmp_path / "work")
    work.write("app.yaml", "value: one\n")
    work.commit("one")
    bare = tmp_path / "srv" / "app.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work.path), str(bare)], check=True)
    server = SshServer(sshd, tmp_path / "sshd", [deploy])
    yield server, deploy, stranger, server.url(bare)
    server.stop()


def _source(tmp_path: Path, name: str, credential: Credential) -> GitSource:
    settings = SourceSettings(policy=UrlPolicy(("ssh",)), credentials=(credential,), timeout=20)
    return GitSource(tmp_path / name, settings)


def test_key_from_a_file_with_known_hosts(setup: tuple[SshServer, Path, Path, str], tmp_path: Path) -> None:
    server, deploy, _, url = setup
    hosts = tmp_path / "known_hosts"
    hosts.write_text(server.known_hosts())
    cred = Credential(
        prefix=f"ssh://127.0.0.1:{server.port}/",
        ssh_key=SecretSource(file=deploy),
        known_hosts=SecretSource(file=hosts),
    )
    source = _source(tmp_path, "cache", cred)
    got = source.checkout(url, "HEAD")
    assert (got.root / "app.yaml").read_text() == "value: one\n"
    source.checkout(url, "HEAD")
    assert (source.counters.ls_remote, source.counters.fetch) == (2, 1)  # the poll fetched nothing


def test_key_from_an_environment_variable(
    setup: tuple[SshServer, Path, Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, deploy, _, url = setup
    monkeypatch.setenv("T_DEPLOY_KEY", deploy.read_text())
    monkeypatch.setenv("T_KNOWN_HOSTS", server.known_hosts())
    cred = Credential(
        prefix=url,
        ssh_key=SecretSource(env="T_DEPLOY_KEY"),
        known_hosts=SecretSource(env="T_KNOWN_HOSTS"),
    )
    source = _source(tmp_path, "cache", cred)
    assert (source.checkout(url, "HEAD").root / "app.yaml").is_file()
    body = deploy.read_text().splitlines()[1]  # a line of the private key
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert body.encode() not in path.read_bytes()


def test_an_unknown_host_is_never_trusted(setup: tuple[SshServer, Path, Path, str], tmp_path: Path) -> None:
    server, deploy, _, url = setup
    other = tmp_path / "other_hosts"
    other.write_text(
        f"[127.0.0.1]:{server.port} {_key(tmp_path, 'impostor').with_suffix('.pub').read_text()}"
    )
    for hosts in (SecretSource(file=other), None):  # a wrong key; no known_hosts entry at all
        cred = Credential(prefix=url, ssh_key=SecretSource(file=deploy), known_hosts=hosts)
        with pytest.raises(SourceFailed, match="host key verification failed"):
            _source(tmp_path, f"cache-{hosts is None}", cred).checkout(url, "HEAD")


def test_a_key_the_server_does_not_accept(setup: tuple[SshServer, Path, Path, str], tmp_path: Path) -> None:
    server, _, stranger, url = setup
    hosts = tmp_path / "known_hosts"
    hosts.write_text(server.known_hosts())
    cred = Credential(prefix=url, ssh_key=SecretSource(file=stranger), known_hosts=SecretSource(file=hosts))
    with pytest.raises(SourceFailed, match="authentication failed") as e:
        _source(tmp_path, "cache", cred).checkout(url, "HEAD")
    assert stranger.read_text().splitlines()[1] not in str(e.value)
