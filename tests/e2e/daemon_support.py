"""Real parts for the daemon's end-to-end tests: a smart-HTTP git server on
loopback (``git http-backend`` behind a threaded HTTP server), the daemon as
a subprocess, and small HTTP helpers."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.conftest import GIT_ENV, GitRepo


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GitHttpServer:
    """Serves bare repositories under ``root`` over git's smart HTTP protocol.
    ``delay`` (seconds) holds every answer back, to make a fetch slow."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.delay = 0.0
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._cgi()

            def do_POST(self) -> None:
                self._cgi()

            def _cgi(self) -> None:
                outer.requests += 1
                if outer.delay:
                    time.sleep(outer.delay)
                path, _, query = self.path.partition("?")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                env = {
                    "PATH": os.environ["PATH"],
                    "GIT_PROJECT_ROOT": str(outer.root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "PATH_INFO": path,
                    "QUERY_STRING": query,
                    "REQUEST_METHOD": self.command,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "REMOTE_ADDR": "127.0.0.1",
                    "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                    "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                }
                out = subprocess.run(
                    ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
                ).stdout
                head, _, payload = out.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode().split("\r\n"):
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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Upstream:
    """A working repository pushing to a bare one that the git server serves."""

    def __init__(self, tmp: Path, server: GitHttpServer, name: str = "deploy.git") -> None:
        self.bare = server.root / name
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.bare)], check=True)
        self.work = GitRepo(tmp / f"work-{name}")
        self.url = server.url(name)
        self.work.git("remote", "add", "origin", str(self.bare))

    def push(self, message: str = "change", branch: str = "main") -> str:
        sha = self.work.commit(message)
        self.work.git("push", "-q", "origin", f"HEAD:refs/heads/{branch}")
        return sha


def configmaps_app(
    repo: GitRepo, count: int, value: str, folder: str = "app", namespace: str = "web"
) -> None:
    """A plain-YAML app of ``count`` objects: a Namespace and ConfigMaps."""
    docs = [f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n"]
    for i in range(count - 1):
        docs.append(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-{i}\n  namespace: {namespace}\n"
            f"data:\n  value: {json.dumps(value)}\n"
        )
    repo.write(f"{folder}/objects.yaml", "---\n".join(docs))


class Daemon:
    """``gitops-agent run`` as a subprocess."""

    def __init__(self, config: Path, port: int, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = config.parent / f"daemon-{port}.log"
        self._log = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "run", "--config", str(config)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **GIT_ENV, **(env or {})},
        )

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"the daemon exited with {self.proc.returncode}: {self.logs()[-3000:]}")
            return self.get("/readyz")[0] == 200

        wait_for(ready, timeout, "the daemon to be ready")

    def get(self, path: str) -> tuple[int, bytes]:
        return request("GET", self.base + path)

    def json(self, path: str) -> Any:
        status, body = self.get(path)
        assert status == 200, (status, body)
        return json.loads(body)

    def post(self, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return request("POST", self.base + path, body, headers)

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.logs().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._log.close()
        return code

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample of /metrics (0 when absent)."""
        _, body = self.get("/metrics")
        for line in body.decode().splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            sample, _, value = line.rpartition(" ")
            if sample.split("{")[0] != name:
                continue
            found = dict(
                part.split("=", 1) for part in sample.partition("{")[2].rstrip("}").split(",") if "=" in part
            )
            if all(found.get(k) == json.dumps(v) for k, v in labels.items()):
                return float(value)
        return 0.0


def request(
    method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None, timeout: float = 60
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body if method != "GET" else None, method=method)  # noqa: S310
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (loopback only)
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError):
        return 0, b""


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll until ``check`` holds (a bound on waiting, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def github_push(url: str, branch: str = "main", default: str = "main") -> bytes:
    return json.dumps(
        {
            "ref": f"refs/heads/{branch}",
            "after": "0" * 40,
            "repository": {"clone_url": url, "html_url": url.removesuffix(".git"), "default_branch": default},
        }
    ).encode()


def github_headers(secret: str, body: bytes, event: str = "push") -> dict[str, str]:
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-GitHub-Event": event, "X-Hub-Signature-256": sig}


def write_daemon_config(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path
