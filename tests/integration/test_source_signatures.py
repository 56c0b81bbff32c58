"""Commit signature verification with real keys: SSH signatures against an
allowed-signers file, OpenPGP signatures against a keyring."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.errors import SourceFailed
from agent.source import GitSource, SignaturePolicy, SourceSettings, UrlPolicy
from tests.support.repos import GitRepo


def _source(tmp_path: Path) -> GitSource:
    return GitSource(tmp_path / "cache", SourceSettings(policy=UrlPolicy(("file",))))


def _ssh_key(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


@pytest.fixture
def ssh_keys(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A trusted key, a stranger's key, and an allowed-signers file."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed (Debian: openssh-client)")
    trusted, stranger = _ssh_key(tmp_path, "trusted"), _ssh_key(tmp_path, "stranger")
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"release@example.invalid {(trusted.with_suffix('.pub')).read_text()}")
    return trusted, stranger, signers


def _ssh_commit(repo: GitRepo, key: Path, text: str) -> str:
    repo.write("a.txt", text)
    repo.git("add", "-A")
    repo.git("-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "commit", "-q", "-S", "-m", text)
    return repo.git("rev-parse", "HEAD")


def test_ssh_signed_commit_is_accepted_unsigned_and_strangers_are_not(
    repo: GitRepo, tmp_path: Path, ssh_keys: tuple[Path, Path, Path]
) -> None:
    trusted, stranger, signers = ssh_keys
    policy = SignaturePolicy(allowed_signers=signers)
    source = _source(tmp_path)
    signed = _ssh_commit(repo, trusted, "signed")
    got = source.checkout(str(repo.path), "main", verify=policy)
    assert got.revision.commit == signed
    assert got.signed_by is not None and got.signed_by.startswith("release@example.invalid")

    repo.write("a.txt", "unsigned")
    unsigned = repo.commit("unsigned")
    with pytest.raises(SourceFailed, match=rf"commit {unsigned[:12]} is not signed; .* not applied"):
        source.checkout(str(repo.path), "main", verify=policy)

    _ssh_commit(repo, stranger, "stranger")
    with pytest.raises(SourceFailed, match="is not signed by an allowed signer"):
        source.checkout(str(repo.path), "main", verify=policy)
    # the same commit without verification is fine: the policy is the app's
    assert source.checkout(str(repo.path), "main").signed_by is None


def test_an_ssh_signature_does_not_satisfy_a_keyring_only_policy(
    repo: GitRepo, tmp_path: Path, ssh_keys: tuple[Path, Path, Path]
) -> None:
    _ssh_commit(repo, ssh_keys[0], "signed")
    keyring = tmp_path / "keyring.asc"
    keyring.write_text("")
    with pytest.raises(
        SourceFailed, match="has an SSH signature, but the app trusts only an OpenPGP keyring"
    ):
        _source(tmp_path).checkout(str(repo.path), "main", verify=SignaturePolicy(keyring=keyring))


class Gpg:
    """A GnuPG home with one signing key (short path: the agent socket lives there)."""

    def __init__(self, name: str) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="gpg-", dir="/tmp"))
        self.home.chmod(0o700)
        uid = f"{name} <{name}@example.invalid>"
        self.gpg("--quick-gen-key", "--passphrase", "", uid, "ed25519", "sign", "never")
        self.fingerprint = next(
            line.split(":")[9]
            for line in self.gpg("--with-colons", "--list-secret-keys").splitlines()
            if line.startswith("fpr:")
        )

    def gpg(self, *args: str) -> str:
        return subprocess.run(
            ["gpg", "--batch", "--pinentry-mode", "loopback", "--homedir", str(self.home), *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def export(self, path: Path) -> Path:
        path.write_text(self.gpg("--armor", "--export", self.fingerprint))
        return path

    def commit(self, repo: GitRepo, text: str) -> str:
        repo.write("a.txt", text)
        repo.git("add", "-A")
        repo.git(
            "-c", f"gpg.program={self._program()}", "-c", f"user.signingkey={self.fingerprint}",
            "commit", "-q", "-S", "-m", text,
        )  # fmt: skip
        return repo.git("rev-parse", "HEAD")

    def _program(self) -> Path:
        wrapper = self.home / "gpg.sh"
        if not wrapper.exists():
            wrapper.write_text(
                f'#!/bin/sh\nexec gpg --batch --pinentry-mode loopback --homedir "{self.home}" "$@"\n'
            )
            wrapper.chmod(0o700)
        return wrapper

    def close(self) -> None:
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "all"], check=False)
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture
def gpg_keys() -> Iterator[tuple[Gpg, Gpg]]:
    if shutil.which("gpg") is None or shutil.which("gpg-agent") is None:
        pytest.skip("gpg and gpg-agent are not installed (Debian: gnupg)")
    trusted, stranger = Gpg("release"), Gpg("stranger")
    yield trusted, stranger
    trusted.close()
    stranger.close()


def test_openpgp_signed_commit_is_verified_against_the_keyring(
    repo: GitRepo, tmp_path: Path, gpg_keys: tuple[Gpg, Gpg]
) -> None:
    trusted, stranger = gpg_keys
    policy = SignaturePolicy(keyring=trusted.export(tmp_path / "release.asc"))
    source = _source(tmp_path)
    signed = trusted.commit(repo, "signed")
    got = source.checkout(str(repo.path), "main", verify=policy)
    assert got.revision.commit == signed
    assert got.signed_by == f"release <release@example.invalid> ({trusted.fingerprint})"

    stranger.commit(repo, "stranger")
    with pytest.raises(
        SourceFailed, match=r"is signed by a key that is not in the keyring .*release\.asc; not applied"
    ):
        source.checkout(str(repo.path), "main", verify=policy)

    repo.write("a.txt", "unsigned")
    repo.commit("unsigned")
    with pytest.raises(SourceFailed, match="is not signed; this app requires a signed commit"):
        source.checkout(str(repo.path), "main", verify=policy)


def test_a_keyring_under_a_deep_state_folder_still_verifies(
    repo: GitRepo, tmp_path: Path, gpg_keys: tuple[Gpg, Gpg]
) -> None:
    """GnuPG's sockets live in its home, and a Unix socket's path holds 108 bytes:
    a home deeper than that made gpg fail to import the keyring at all."""
    trusted, _ = gpg_keys
    policy = SignaturePolicy(keyring=trusted.export(tmp_path / "release.asc"))
    deep = tmp_path / ("state-" + "d" * 60) / "deeper"
    source = GitSource(deep / "git", SourceSettings(policy=UrlPolicy(("file",))))
    assert len(str(deep / "git" / "gnupg")) > 100
    signed = trusted.commit(repo, "signed")
    got = source.checkout(str(repo.path), "main", verify=policy)
    assert got.revision.commit == signed
    assert got.signed_by == f"release <release@example.invalid> ({trusted.fingerprint})"
