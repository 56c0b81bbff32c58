"""Real git servers on 127.0.0.1 for the source tests and benchmark.

- :class:`GitDaemon`: ``git daemon`` serving a folder of repositories (git://).
- :class:`SmartHttp`: ``git http-backend`` (the CGI program git ships) behind
  a small threaded HTTP server with basic auth, recording each request and
  the protocol-v2 command it carried (``ls-refs`` or ``fetch``).
- :func:`silent_server`: accepts connections and never answers (timeouts).
- :func:`closed_port`: a port nothing listens on (unreachable server).
- :class:`SshServer`: ``sshd`` with its own host key and authorized keys.
"""

from __future__ import annotations

import base64
import getpass
import gzip
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port() -> int:
    return free_port()


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started in its own session, with the children it forked."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class GitDaemon:
    """``git daemon`` exporting every repository under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        args = ["--reuseaddr", "--export-all", "--informative-errors", f"--base-path={root}"]
        args += ["--listen=127.0.0.1", f"--port={self.port}", str(root)]
        self.proc = subprocess.Popen(
            ["git", "daemon", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(self.port, self.proc)

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        stop_group(self.proc)


@dataclass
class Request:
    method: str
    path: str
    command: str | None  # protocol v2 command of a POST: ls-refs, fetch
    authorized: bool


@dataclass
class SmartHttp:
    """``git http-backend`` over HTTP on 127.0.0.1, with basic auth when
    ``username`` and ``password`` are set."""

    root: Path
    username: str | None = None
    password: str | None = None
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        handler = _handler(self)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def commands(self) -> list[str]:
        return [r.command for r in self.requests if r.command and r.authorized]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(owner: SmartHttp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            self._serve(self._body())

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _authorized(self) -> bool:
            if owner.username is None:
                return True
            expected = base64.b64encode(f"{owner.username}:{owner.password}".encode()).decode()
            return self.headers.get("Authorization", "") == f"Basic {expected}"

        def _serve(self, body: bytes) -> None:
            parts = urlsplit(self.path)
            authorized = self._authorized()
            plain = gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body
            command = _v2_command(plain)
            owner.requests.append(Request(self.command, parts.path, command, authorized))
            if not authorized:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(owner.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": parts.path,
                "QUERY_STRING": parts.query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": "127.0.0.1",
                "REMOTE_USER": owner.username or "",
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "GIT_CONFIG_NOSYSTEM": "1",
                "HOME": str(owner.root),
            }
            proc = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
            )
            head, _, payload = proc.stdout.partition(b"\r\n\r\n")
            if not _:
                head, _, payload = proc.stdout.partition(b"\n\n")
            status = 200
            headers: list[tuple[str, str]] = []
            for line in head.decode("latin-1").splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _v2_command(body: bytes) -> str | None:
    """The ``command=`` pkt-line of a protocol-v2 request."""
    i = 0
    while i + 4 <= len(body):
        try:
            size = int(body[i : i + 4], 16)
        except ValueError:
            return None
        if size < 4:
            i += 4
            continue
        line = body[i + 4 : i + size].rstrip(b"\n")
        if line.startswith(b"command="):
            return line.removeprefix(b"command=").decode()
        i += size
    return None


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            with suppress(OSError):
                conn, _ = sock.accept()
                held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        sock.close()


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
