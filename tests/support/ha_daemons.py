"""The fleet and the configuration of ``gitops-agent run`` replicas in the
high-availability end-to-end tests: one ConfigMap per app, each in its own
folder of one repository, and an ``agent.yaml`` per replica that differs
only by its identity, port and state folder."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tests.support.git_servers import Upstream


def configmap_folders(up: Upstream, apps: Iterable[str], namespace: str, value: str | None = None) -> None:
    """``apps/<app>/cm.yaml``: a ConfigMap named after its app (``data.value``
    set to ``value`` when given), to be pushed by the caller."""
    data = f"data:\n  value: {json.dumps(value)}\n" if value is not None else ""
    for app in apps:
        up.work.write(
            f"apps/{app}/cm.yaml",
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {app}\n  namespace: {namespace}\n{data}",
        )


def replica_config(
    tmp: Path,
    name: str,
    port: int,
    kubeconfig: Path,
    apps: list[dict[str, Any]],
    *,
    lease: int = 4,
    **more: Any,
) -> Path:
    """``agent.yaml`` of the replica ``name`` (its identity) listening on
    ``port``, on the cluster of ``kubeconfig``, with ``apps`` and any more
    top-level settings (``clusters``); written beside the test's files."""
    doc: dict[str, Any] = {
        "cluster": {"kubeconfig": {"path": str(kubeconfig)}},
        **more,
        "stateDir": f"state-{name}",
        "source": {"allowedSchemes": ["http"]},
        "daemon": {
            "port": port,
            "logFormat": "json",
            "apiToken": "${API_TOKEN}",
            "webhook": {"secrets": {"github": "${GH_SECRET}"}},
            "ha": {"identity": name, "leaseSeconds": lease, "renewSeconds": 1},
        },
        "apps": apps,
    }
    path = tmp / f"agent-{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
