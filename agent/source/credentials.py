"""Credentials for a repository, and the environment git runs in.

Secrets never enter a URL, a command line, the mirror's ``config`` or the
cache path: an HTTPS token goes to git as an ``Authorization`` header
scoped to the repository's URL (``http.<url>.extraHeader`` through
``GIT_CONFIG_*`` variables); an SSH key is written to a private temporary
file for the one command that needs it.  SSH always checks host keys
(``StrictHostKeyChecking=yes``) against the configured ``known_hosts`` or the
user's own: an unknown host fails, it is never trusted silently.

Git also runs isolated from the host's git configuration (no credential
helper, ``insteadOf`` rewrite or protocol setting of the host applies), only
allowed protocols are enabled in git itself, and it never prompts.
"""

from __future__ import annotations

import base64
import os
import shlex
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agent.errors import SourceFailed
from agent.redact import register_secret
from agent.source.urls import RepoUrl, matches_prefix, normalize_url


@dataclass(frozen=True)
class SecretSource:
    """Where a secret is read from, at the moment it is needed (so a rotated
    file is picked up): an environment variable or a file."""

    env: str | None = None
    file: Path | None = None

    def read(self, what: str, *, secret: bool = True) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise SourceFailed(f"{what}: environment variable {self.env} is not set")
        elif self.file is not None:
            try:
                value = self.file.read_text(encoding="utf-8")
            except OSError as e:
                raise SourceFailed(f"{what}: cannot read {self.file}: {e.strerror}") from None
        else:
            raise SourceFailed(f"{what}: neither env nor file is set")
        if secret:
            register_secret(value.strip())
        return value


@dataclass(frozen=True)
class Credential:
    """Credentials for every repository under ``prefix`` (a URL)."""

    prefix: str
    username: str | None = None
    password: SecretSource | None = None  # HTTPS password or token
    ssh_key: SecretSource | None = None  # an OpenSSH private key (no passphrase)
    known_hosts: SecretSource | None = None  # known_hosts lines

    @property
    def key(self) -> str:
        return normalize_url(self.prefix)


def credential_for(credentials: Sequence[Credential], url: RepoUrl) -> Credential | None:
    """The credential with the longest URL prefix naming the repository."""
    found = [c for c in credentials if matches_prefix(url.key, c.key)]
    return max(found, key=lambda c: len(c.key)) if found else None


def _config(pairs: list[tuple[str, str]]) -> dict[str, str]:
    env = {"GIT_CONFIG_COUNT": str(len(pairs))}
    for i, (k, v) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{i}"] = k
        env[f"GIT_CONFIG_VALUE_{i}"] = v
    return env


@contextmanager
def git_environment(
    url: RepoUrl, credential: Credential | None, schemes: Sequence[str], timeout: float
) -> Iterator[dict[str, str]]:
    """The environment of one git network command for ``url``."""
    pairs: list[tuple[str, str]] = [("protocol.allow", "never")]
    pairs += [(f"protocol.{s}.allow", "always") for s in schemes if s != "file"]
    if "file" in schemes:
        pairs.append(("protocol.file.allow", "always"))
    # an HTTP transfer slower than 1 KB/s for the whole timeout is abandoned
    pairs += [("http.lowSpeedLimit", "1000"), ("http.lowSpeedTime", str(max(1, int(timeout))))]
    env = {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "false",
        "SSH_ASKPASS": "false",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "LC_ALL": "C",  # error messages in a known language
    }
    username = (credential.username if credential else None) or url.username
    password = url.password
    if credential is not None and credential.password is not None:
        password = credential.password.read(f"credentials for {credential.prefix}: password").strip()
    if password is not None and url.scheme in ("https", "http"):
        token = base64.b64encode(f"{username or 'git'}:{password}".encode()).decode()
        register_secret(token)
        pairs.append((f"http.{url.url}.extraHeader", f"Authorization: Basic {token}"))
    with tempfile.TemporaryDirectory(prefix="gitops-agent-ssh-") as scratch:
        if url.scheme == "ssh":
            env["GIT_SSH_COMMAND"] = _ssh_command(credential, Path(scratch), timeout)
            env["GIT_SSH_VARIANT"] = "ssh"
        env.update(_config(pairs))
        yield env


def _ssh_command(credential: Credential | None, scratch: Path, timeout: float) -> str:
    args = [
        "ssh",
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"ConnectTimeout={max(1, int(timeout))}",
        "-o", "ServerAliveInterval=15",
        "-o", "ServerAliveCountMax=2",
    ]  # fmt: skip
    if credential is not None and credential.known_hosts is not None:
        hosts = credential.known_hosts.read(f"credentials for {credential.prefix}: knownHosts", secret=False)
        args += ["-o", f"UserKnownHostsFile={_private_file(scratch / 'known_hosts', hosts)}"]
        args += ["-o", "GlobalKnownHostsFile=/dev/null"]
    if credential is not None and credential.ssh_key is not None:
        key = credential.ssh_key.read(f"credentials for {credential.prefix}: sshKey")
        args += ["-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"]
        args += ["-i", str(_private_file(scratch / "id", key))]
    return shlex.join(args)


def _private_file(path: Path, text: str) -> Path:
    """Write ``text`` readable by the agent only (ssh refuses a key others
    can read); the temporary folder is removed after the command."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text if text.endswith("\n") else text + "\n")
    return path
