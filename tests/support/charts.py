"""Chart repositories on 127.0.0.1 for the Helm tests: an HTTP chart
repository (``index.yaml`` and ``.tgz`` archives) and a small OCI registry
(the distribution API's read side: tags, manifests, blobs, with the bearer
token flow), both optionally behind a user and password.  Charts are packed
here, as ``helm package`` would, and put in place in process."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
CONFIG_TYPE = "application/vnd.cncf.helm.config.v1+json"


def pack(folder: Path, name: str | None = None) -> bytes:
    """A chart folder as a ``.tgz`` (its files under one top folder)."""
    top = name or folder.name
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            tar.add(path, arcname=f"{top}/{path.relative_to(folder).as_posix()}")
    return buf.getvalue()


def chart_files(root: Path, name: str, version: str, files: dict[str, str]) -> Path:
    folder = root / f"{name}-{version}" / name
    (folder / "Chart.yaml").parent.mkdir(parents=True, exist_ok=True)
    (folder / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n")
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


@dataclass
class Served:
    files: dict[str, bytes] = field(default_factory=dict)  # HTTP repository: path -> body
    blobs: dict[str, bytes] = field(default_factory=dict)  # registry: digest -> body
    manifests: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (repository, tag) -> manifest
    user: str | None = None
    password: str | None = None
    token: str = "registry-token-0c1d"
    requests: list[str] = field(default_factory=list)
    base: str = ""

    # -- an HTTP chart repository -------------------------------------------------------------
    def add_to_index(self, name: str, version: str, archive: bytes, *, digest: str | None = None) -> None:
        path = f"charts/{name}-{version}.tgz"
        self.files["/" + path] = archive
        index = yaml.safe_load(self.files.get("/index.yaml", b"apiVersion: v1\nentries: {}\n")) or {}
        entry = {
            "apiVersion": "v2",
            "name": name,
            "version": version,
            "urls": [path],
            "digest": digest or hashlib.sha256(archive).hexdigest(),
        }
        index.setdefault("entries", {}).setdefault(name, []).append(entry)
        self.files["/index.yaml"] = yaml.safe_dump(index).encode()

    # -- an OCI registry ------------------------------------------------------------------------
    def push(self, repository: str, version: str, archive: bytes) -> str:
        config = json.dumps({"name": repository.rsplit("/", 1)[-1], "version": version}).encode()
        layer = "sha256:" + hashlib.sha256(archive).hexdigest()
        cfg = "sha256:" + hashlib.sha256(config).hexdigest()
        self.blobs[layer] = archive
        self.blobs[cfg] = config
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": CONFIG_TYPE, "digest": cfg, "size": len(config)},
            "layers": [{"mediaType": HELM_LAYER, "digest": layer, "size": len(archive)}],
        }
        self.manifests[(repository, version.replace("+", "_"))] = json.dumps(manifest).encode()
        return layer


class _Handler(BaseHTTPRequestHandler):
    served: Served
    registry: bool

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _basic_ok(self) -> bool:
        s = self.served
        if s.user is None:
            return True
        want = base64.b64encode(f"{s.user}:{s.password}".encode()).decode()
        return self.headers.get("Authorization") == f"Basic {want}"

    def do_GET(self) -> None:
        s = self.served
        s.requests.append(self.path)
        if self.registry:
            self._registry()
            return
        if not self._basic_ok():
            self._send(401, b"unauthorized", {"WWW-Authenticate": 'Basic realm="charts"'})
            return
        body = s.files.get(self.path.split("?", 1)[0])
        self._send(404) if body is None else self._send(200, body)

    def _registry(self) -> None:
        s = self.served
        path = self.path.split("?", 1)[0]
        if path == "/token":
            if not self._basic_ok():
                self._send(401, b"{}")
                return
            self._send(200, json.dumps({"token": s.token}).encode(), {"Content-Type": "application/json"})
            return
        if s.user is not None and self.headers.get("Authorization") != f"Bearer {s.token}":
            realm = f'Bearer realm="{s.base}/token",service="127.0.0.1",scope="repository:charts:pull"'
            self._send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": realm})
            return
        parts = path.strip("/").split("/")
        if parts[:1] != ["v2"] or len(parts) < 4:
            self._send(200 if path in ("/v2", "/v2/") else 404, b"{}")
            return
        repository, kind, ref = "/".join(parts[1:-2]), parts[-2], parts[-1]
        if kind == "tags" and ref == "list":
            tags = sorted(t for r, t in s.manifests if r == repository)
            self._send(200, json.dumps({"name": repository, "tags": tags}).encode())
        elif kind == "manifests" and (repository, ref) in s.manifests:
            body = s.manifests[(repository, ref)]
            self._send(200, body, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        elif kind == "blobs" and ref in s.blobs:
            self._send(200, s.blobs[ref], {"Content-Type": "application/octet-stream"})
        else:
            self._send(404, b'{"errors":[{"code":"NOT_FOUND"}]}')


@contextmanager
def serve(
    *, registry: bool = False, user: str | None = None, password: str | None = None
) -> Iterator[Served]:
    """An HTTP chart repository (or, with ``registry``, an OCI registry) on
    127.0.0.1; ``served.base`` is its ``http://127.0.0.1:PORT``."""
    served = Served(user=user, password=password)
    handler = type("Handler", (_Handler,), {"served": served, "registry": registry})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    served.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


def evil_archive(kind: str) -> bytes:
    """A malicious chart archive: ``dotdot``, ``absolute``, ``symlink``,
    ``many`` (too many files) or ``bomb`` (unpacks too large)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:

        def add(name: str, data: bytes = b"x", size: int | None = None) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data) if size is None else size
            tar.addfile(info, io.BytesIO(data) if size is None else _Zeros(info.size))

        add("evil/Chart.yaml", b"apiVersion: v2\nname: evil\nversion: 1.0.0\n")
        if kind == "dotdot":
            add("evil/../../escaped.txt")
        elif kind == "absolute":
            add("/tmp/escaped.txt")
        elif kind == "symlink":
            link = tarfile.TarInfo("evil/templates/link.yaml")
            link.type = tarfile.SYMTYPE
            link.linkname = "/etc/passwd"
            tar.addfile(link)
        elif kind == "many":
            for i in range(5_001):
                add(f"evil/files/{i}.txt")
        elif kind == "bomb":
            add("evil/files/big.bin", size=60 * 1024 * 1024)
    return buf.getvalue()


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n
