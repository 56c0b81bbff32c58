"""Running the REST server: uvicorn on a loopback socket, and its kubeconfig.

:class:`EmulatorServer` binds its socket first (port 0 picks a free one), so
the address is known before clients start; it runs in the foreground for
``gitops-agent emulator serve`` or on a thread for tests and embedding.  The
bearer token and the TLS certificate authority are generated once per
cluster database and kept in it, so a restarted server accepts (and is
trusted by) the kubeconfig it wrote before.  ``emulator serve`` speaks HTTPS,
since kubectl sends no token over plain HTTP; embedded servers may use
either.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
import yaml

from agent.emulator.cluster import EmulatedCluster
from agent.emulator.rest.app import EmulatorApp
from agent.emulator.rest.tls import Authority, ServerFiles, new_authority, server_certificate

CONTEXT = "gitops-agent-emulator"


def cluster_token(cluster: EmulatedCluster) -> str:
    token = cluster.store.get_meta("token")
    if not token:
        token = secrets.token_urlsafe(32)
        cluster.store.set_meta("token", token)
    return token


def cluster_authority(cluster: EmulatedCluster) -> Authority:
    """The cluster's CA, made on first use and kept in the database (the key never leaves it
    except into the running server)."""
    saved = cluster.store.get_meta("ca")
    if saved:
        doc = json.loads(saved)
        return Authority(doc["cert"].encode(), doc["key"].encode())
    ca = new_authority()
    cluster.store.set_meta("ca", json.dumps({"cert": ca.cert_pem.decode(), "key": ca.key_pem.decode()}))
    return ca


def kubeconfig(
    server: str, token: str | None, name: str = CONTEXT, ca_data: str | None = None
) -> dict[str, Any]:
    """A kubeconfig for the official clients and kubectl (no token: an open server; ``ca_data``:
    the base64 CA certificate of an HTTPS server)."""
    entry: dict[str, Any] = {"server": server}
    if ca_data:
        entry["certificate-authority-data"] = ca_data
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": entry}],
        "users": [{"name": name, "user": {"token": token} if token else {}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": "default"}}],
        "current-context": name,
        "preferences": {},
    }


def write_kubeconfig(path: Path, server: str, token: str | None, ca_data: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(yaml.safe_dump(kubeconfig(server, token, ca_data=ca_data), sort_keys=False))
    return path


def saved_kubeconfig(cluster: EmulatedCluster) -> dict[str, Any] | None:
    """The kubeconfig of the last server started on this database, if any."""
    address = cluster.store.get_meta("address")
    if not address:
        return None
    token = None if cluster.store.get_meta("auth") == "off" else cluster_token(cluster)
    ca_data = cluster_authority(cluster).data if address.startswith("https://") else None
    return kubeconfig(address, token, ca_data=ca_data)


class EmulatorServer:
    def __init__(
        self,
        cluster: EmulatedCluster,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        *,
        tls: bool = False,
    ) -> None:
        self.cluster = cluster
        self.token = token if token is not None else cluster_token(cluster)  # "": no authentication
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and
        # without it keep-alive requests wait on delayed ACKs (~40 ms each).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.bind((host, port))
        self._socket.listen(2048)  # clients may connect (and queue) before uvicorn accepts
        self.host, self.port = self._socket.getsockname()[:2]
        self.url = f"{'https' if tls else 'http'}://{self.host}:{self.port}"
        self.app = EmulatorApp(cluster, self.token or None, f"{self.host}:{self.port}")
        self.authority = cluster_authority(cluster) if tls else None
        files = None
        if self.authority is not None:
            hosts = [self.host, "127.0.0.1", "localhost", "kubernetes.default.svc"]
            files = ServerFiles(*server_certificate(self.authority, hosts))
        config = uvicorn.Config(
            self.app.app,
            log_level="warning",
            access_log=False,
            http="httptools",
            loop="asyncio",
            lifespan="off",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
            ssl_certfile=files.cert if files else None,
            ssl_keyfile=files.key if files else None,
        )
        if files is not None:
            try:
                config.load()  # reads the certificate and key into an SSL context
            finally:
                files.remove()
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        cluster.store.set_meta("address", self.url)
        cluster.store.set_meta("auth", "on" if self.token else "off")

    @property
    def ca_data(self) -> str | None:
        """The base64 CA certificate clients trust (None over plain HTTP)."""
        return self.authority.data if self.authority else None

    def kubeconfig(self) -> dict[str, Any]:
        return kubeconfig(self.url, self.token or None, ca_data=self.ca_data)

    def write_kubeconfig(self, path: Path) -> Path:
        return write_kubeconfig(path, self.url, self.token or None, self.ca_data)

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (SIGINT/SIGTERM)."""
        self.cluster.controllers.start()
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self.cluster.controllers.stop()

    def start(self) -> EmulatorServer:
        """Serve on a background thread; returns once the server accepts connections."""
        self.cluster.controllers.start()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="emulator-http", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._server.started:
            raise RuntimeError("the emulator's REST server did not start")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.cluster.controllers.stop()
        self._socket.close()
