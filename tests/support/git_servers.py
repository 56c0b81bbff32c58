"""Real git servers on 127.0.0.1, for the source, daemon and webhook tests
and the benchmarks.

- :class:`SmartHttp`: ``git http-backend`` (the CGI program git ships) behind
  a small threaded HTTP server, with basic auth when a user is set, a
  ``delay`` that holds every answer back (a slow fetch), and a log of each
  request with the protocol-v2 command it carried (``ls-refs`` or ``fetch``).
- :class:`GitDaemon`: ``git daemon`` serving a folder of repositories (git://).
- :class:`Upstream`: a working repository pushing to a bare one a server serves.
"""

from __future__ import annotations

import base64
import gzip
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.net import free_port, stop_group
from tests.support.repos import GitRepo
from tests.support.waits import wait_for_port


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
    ``username`` and ``password`` are set; ``delay`` (seconds) holds every
    answer back; ``requests`` logs each request as it arrives."""

    root: Path
    username: str | None = None
    password: str | None = None
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
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
            owner.requests.append(Request(self.command, parts.path, _v2_command(plain), authorized))
            if owner.delay:
                time.sleep(owner.delay)
            if not authorized:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, headers, payload = _backend(owner, self, body)
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _backend(
    owner: SmartHttp, req: BaseHTTPRequestHandler, body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Runs ``git http-backend`` as the CGI program it is: status, headers, body."""
    parts = urlsplit(req.path)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": str(owner.root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "REQUEST_METHOD": req.command,
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "CONTENT_TYPE": req.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_USER": owner.username or "",
        "GIT_PROTOCOL": req.headers.get("Git-Protocol", ""),
        "HTTP_CONTENT_ENCODING": req.headers.get("Content-Encoding", ""),
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(owner.root),
    }
    proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
    head, sep, payload = proc.stdout.partition(b"\r\n\r\n")
    if not sep:
        head, _, payload = proc.stdout.partition(b"\n\n")
    status = 200
    headers: list[tuple[str, str]] = []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers.append((name, value.strip()))
    return status, headers, payload


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


class Upstream:
    """A working repository pushing to a bare one that the git server serves."""

    def __init__(self, tmp: Path, server: SmartHttp, name: str = "deploy.git") -> None:
        self.bare = server.root / name
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.bare)], check=True)
        self.work = GitRepo(tmp / f"work-{name}")
        self.url = server.url(name)
        self.work.git("remote", "add", "origin", str(self.bare))

    def push(self, message: str = "change", branch: str = "main") -> str:
        sha = self.work.commit(message)
        self.work.git("push", "-q", "origin", f"HEAD:refs/heads/{branch}")
        return sha
