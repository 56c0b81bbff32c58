"""The daemon for end-to-end tests: ``gitops-agent run`` as a subprocess
(:class:`Daemon`, :func:`start` with a configuration for one app on a git
server), the app it syncs, and GitHub push webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.support.git_servers import Upstream
from tests.support.net import free_port, request
from tests.support.repos import GIT_ENV, GitRepo
from tests.support.waits import wait_for

GH_SECRET = "gh-webhook-secret-1234"
API_TOKEN = "api-token-5678"


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

    def samples(self, name: str) -> list[tuple[dict[str, str], float]]:
        """Every sample of ``name`` in /metrics: (its labels, its value)."""
        _, body = self.get("/metrics")
        out = []
        for line in body.decode().splitlines():
            if line.startswith("#") or line.split("{")[0].split(" ")[0] != name:
                continue
            sample, _, value = line.rpartition(" ")
            pairs = (p.split("=", 1) for p in sample.partition("{")[2].rstrip("}").split(",") if "=" in p)
            out.append(({k: json.loads(v) for k, v in pairs}, float(value)))
        return out

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample of /metrics (0 when absent)."""
        for found, value in self.samples(name):
            if all(found.get(k) == v for k, v in labels.items()):
                return value
        return 0.0


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


def start(
    tmp_path: Path,
    upstream: Upstream,
    daemon: dict[str, Any] | None = None,
    apps: list[dict[str, Any]] = (),
    kubeconfig: Path | None = None,
    *,
    web: dict[str, Any] | None = None,
) -> Daemon:
    port = free_port()
    settings: dict[str, Any] = {
        "port": port,
        "logFormat": "json",
        "apiToken": "${API_TOKEN}",
        "webhook": {"secrets": {"github": "${GH_SECRET}"}},
    }
    for key, value in (daemon or {}).items():
        settings[key] = {**settings[key], **value} if isinstance(value, dict) else value
    cluster = (
        {"kubeconfig": {"path": str(kubeconfig)}} if kubeconfig else {"emulated": {"path": "cluster.db"}}
    )
    doc = {
        "cluster": cluster,
        "stateDir": "state",
        "source": {"allowedSchemes": ["http"]},  # the git server on loopback speaks plain HTTP
        "daemon": settings,
        "apps": [
            {
                "name": "web",
                "repo": upstream.url,
                "revision": "main",
                "path": "app",
                "namespace": "web",
                "intervalSeconds": 3600,
                **(web or {}),
            },
            *apps,
        ],
    }
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    d = Daemon(config, port, {"GH_SECRET": GH_SECRET, "API_TOKEN": API_TOKEN})
    d.wait_ready()
    return d
