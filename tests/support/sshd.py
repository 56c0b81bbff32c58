"""``sshd`` on 127.0.0.1 for the ssh source tests: its own host key, one
user's authorized keys; installed with apt-get in CI when missing."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
from pathlib import Path

from tests.support.net import free_port, stop_group
from tests.support.waits import wait_for_port


def find_sshd() -> tuple[str | None, str]:
    """The sshd binary, installing Debian's ``openssh-server`` when running
    as root in CI (``CI`` set) and it is missing; else None and why."""
    found = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)
    if found:
        return found, ""
    if not os.environ.get("CI") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, "sshd is not installed (Debian: apt-get install openssh-server; CI installs it itself)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "openssh-server"]
    proc = subprocess.run(install, env=env, capture_output=True, text=True, check=False, timeout=600)
    if proc.returncode != 0:  # the package lists may be missing on a fresh machine
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False, timeout=600)
        proc = subprocess.run(install, env=env, capture_output=True, text=True, check=False, timeout=600)
    found = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)
    if found is None:
        why = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"sshd is not installed and apt-get install openssh-server failed: {why}"
    return found, ""


class SshServer:
    """``sshd`` on 127.0.0.1 with its own host key, accepting one user's
    public keys; git runs through it as over any ssh remote."""

    def __init__(self, sshd: str, folder: Path, authorized: list[Path]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.user = getpass.getuser()
        self.host_key = folder / "host_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.host_key)], check=True)
        keys = folder / "authorized_keys"
        keys.write_text("".join(k.with_suffix(".pub").read_text() for k in authorized))
        keys.chmod(0o600)
        self.port = free_port()
        config = folder / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.host_key}",
                    f"AuthorizedKeysFile {keys}",
                    f"PidFile {folder / 'sshd.pid'}",
                    f"AllowUsers {self.user}",
                    "StrictModes no",
                    "UsePAM no",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "PermitRootLogin prohibit-password",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        if os.geteuid() == 0:  # privilege separation needs it; the service would make it
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.proc = subprocess.Popen(
            [sshd, "-D", "-e", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(self.port, self.proc)

    def known_hosts(self) -> str:
        key = self.host_key.with_suffix(".pub").read_text().split()
        return f"[127.0.0.1]:{self.port} {key[0]} {key[1]}\n"

    def url(self, path: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        stop_group(self.proc)
