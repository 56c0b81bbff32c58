"""Commit signature verification: an app may require its commit to be signed
by a key it trusts, so that write access to the repository alone cannot
change the cluster.

Two kinds, as git knows them: OpenPGP signatures checked against a keyring
file (public keys, armored or binary), and SSH signatures checked against an
``allowed_signers`` file (``gpg.ssh.allowedSignersFile``).  The keyring is
imported once into a private GnuPG home under the agent's state directory,
keyed by the keyring's content, so the user's own keys never count.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agent.errors import SourceFailed
from agent.source.command import GitFailed, run_git

_ISOLATED = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}
_GOOD_SSH = re.compile(r'Good "git" signature for (?P<who>.+?) with (?P<key>.+)$', re.M)
_BAD_GPG = ("BADSIG", "ERRSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "NO_PUBKEY")
_SOCKET_ROOM = 80  # bytes of a GnuPG home's path that leave room for its sockets' names (108 in all)


@dataclass(frozen=True)
class SignaturePolicy:
    """What an app trusts; at least one of the two is set."""

    keyring: Path | None = None  # OpenPGP public keys
    allowed_signers: Path | None = None  # SSH allowed signers


def signature_kind(commit_object: str) -> str | None:
    """``openpgp``, ``ssh``, ``x509`` or None (unsigned), from the raw commit."""
    header = commit_object.split("\n\n", 1)[0]
    if not re.search(r"^gpgsig(-sha256)? ", header, re.M):
        return None
    if "-----BEGIN SSH SIGNATURE-----" in header:
        return "ssh"
    if "-----BEGIN PGP SIGNATURE-----" in header:
        return "openpgp"
    return "x509"


@dataclass(frozen=True)
class _Commit:
    """The commit being verified: its repository, how messages name it, and
    how long each git command may take."""

    git_dir: Path
    sha: str
    where: str
    timeout: float


def verify_commit(
    git_dir: Path, commit: str, policy: SignaturePolicy, *, gnupg_root: Path, shown: str, timeout: float
) -> str:
    """Return who signed ``commit``; raise a SourceFailed saying why the
    commit is not applied when it is unsigned or not signed by a trusted key."""
    where = f"{shown}: commit {commit[:12]}"
    raw = run_git(["cat-file", "commit", commit], git_dir=git_dir, timeout=timeout).stdout
    kind = signature_kind(raw)
    checked = _Commit(git_dir, commit, where, timeout)
    if kind is None:
        raise SourceFailed(f"{where} is not signed; this app requires a signed commit, so it is not applied")
    if kind == "ssh":
        if policy.allowed_signers is None:
            raise SourceFailed(f"{where} has an SSH signature, but the app trusts only an OpenPGP keyring")
        return _verify_ssh(checked, policy.allowed_signers)
    if kind == "openpgp":
        if policy.keyring is None:
            raise SourceFailed(f"{where} has an OpenPGP signature, but the app trusts only SSH signers")
        return _verify_openpgp(checked, policy.keyring, gnupg_root)
    raise SourceFailed(f"{where} has an X.509 signature, which is not supported; not applied")


def _verify_ssh(commit: _Commit, signers: Path) -> str:
    where = commit.where
    if not signers.is_file():
        raise SourceFailed(f"{where}: allowed signers file {signers} not found")
    try:
        out = run_git(
            ["-c", f"gpg.ssh.allowedSignersFile={signers}", "verify-commit", commit.sha],
            git_dir=commit.git_dir,
            env=_ISOLATED,
            timeout=commit.timeout,
        )
    except GitFailed as e:
        raise SourceFailed(f"{where} is not signed by an allowed signer of {signers}; not applied") from e
    good = _GOOD_SSH.search(out.stderr)
    if good is None:
        raise SourceFailed(f"{where}: the SSH signature could not be verified; not applied")
    return f"{good['who']} ({good['key'].strip()})"


def _verify_openpgp(commit: _Commit, keyring: Path, gnupg_root: Path) -> str:
    where = commit.where
    home = _gnupg_home(keyring, gnupg_root, where, commit.timeout)
    try:
        with _reachable(home) as short:
            out = run_git(
                ["verify-commit", "--raw", commit.sha],
                git_dir=commit.git_dir,
                env={**_ISOLATED, "GNUPGHOME": str(short)},
                timeout=commit.timeout,
            )
        status = out.stderr
    except GitFailed as e:
        status = e.stderr
    codes = {line.split()[1]: line for line in status.splitlines() if line.startswith("[GNUPG:] ")}
    bad = [c for c in _BAD_GPG if c in codes]
    if bad or "VALIDSIG" not in codes or "GOODSIG" not in codes:
        if "NO_PUBKEY" in codes or ("ERRSIG" in codes and "GOODSIG" not in codes):
            raise SourceFailed(
                f"{where} is signed by a key that is not in the keyring {keyring}; not applied"
            )
        problem = ", ".join(bad) or "no valid signature"
        raise SourceFailed(f"{where}: the signature does not verify with {keyring} ({problem}); not applied")
    # [GNUPG:] GOODSIG <long keyid> <user id>
    parts = codes["GOODSIG"].split(maxsplit=3)
    fingerprint = codes["VALIDSIG"].split()[2]
    return f"{parts[3] if len(parts) > 3 else parts[2]} ({fingerprint})"


def _gnupg_home(keyring: Path, gnupg_root: Path, where: str, timeout: float) -> Path:
    """A GnuPG home holding exactly the keyring's keys, made once."""
    try:
        data = keyring.read_bytes()
    except OSError as e:
        raise SourceFailed(f"{where}: cannot read keyring {keyring}: {e.strerror}") from None
    home = gnupg_root / hashlib.sha256(data).hexdigest()[:24]
    if (home / "pubring.kbx").exists():
        return home
    gnupg_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = Path(tempfile.mkdtemp(prefix=".import-", dir=gnupg_root))
    try:
        with _reachable(tmp) as short:
            proc = subprocess.run(
                ["gpg", "--batch", "--no-autostart", "--homedir", str(short), "--import"],
                input=data,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        if proc.returncode != 0 or not (tmp / "pubring.kbx").exists():
            why = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no keys"]
            raise SourceFailed(f"{where}: cannot import keyring {keyring}: {why[0]}")
        with contextlib.suppress(OSError):  # imported by another reconcile meanwhile
            os.replace(tmp, home)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SourceFailed(f"{where}: cannot import keyring {keyring}: {e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return home


@contextlib.contextmanager
def _reachable(home: Path) -> Iterator[Path]:
    """``home``, or a short link to it in the temporary folder when its path
    leaves no room for GnuPG's socket names: a Unix socket's path holds 108
    bytes, and gpg given a longer home fails even to import public keys
    ("can't connect to the agent: File name too long", exit 2), as under a
    deep ``stateDir``."""
    if len(os.fsencode(home)) <= _SOCKET_ROOM:
        yield home
        return
    folder = Path(tempfile.mkdtemp(prefix="gnupg-"))
    try:
        (folder / "home").symlink_to(home, target_is_directory=True)
        yield folder / "home"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
