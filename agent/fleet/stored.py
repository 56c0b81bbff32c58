"""Apps' definitions kept in a ConfigMap of the state namespace.

The fleet's state that every replica and the next start must see (what an
AppSet generated, the last definition of each app) is kept as gzipped JSON
under one ``binaryData`` key, as the revision records are: a thousand apps'
definitions fit well within a ConfigMap's 1 MiB.  Each ConfigMap is
labelled as the agent's (``managed-by``) plus a label of its own.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from agent.cluster.base import ClusterClient
from agent.config import Application, RetryPolicy
from agent.errors import ConfigError
from agent.kube.errors import ClusterError
from agent.sync.ownership import MANAGED_BY, MANAGED_BY_LABEL
from agent.sync.retry import ensure_namespace, with_retries

KEY = "apps.json.gz"  # the apps' definitions, gzipped JSON


def encode(apps: Sequence[Application]) -> str:
    text = json.dumps(
        [a.model_dump(mode="json", by_alias=True, exclude_defaults=True) for a in apps],
        sort_keys=True,
        separators=(",", ":"),
    )
    return base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode()


class StoredApps:
    """One ConfigMap of apps' definitions; ``what`` says what they are in
    errors (``appset web: the apps it made last time``)."""

    def __init__(
        self, cluster: ClusterClient, namespace: str, name: str, labels: Mapping[str, str], what: str
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.name = name
        self.labels = {MANAGED_BY_LABEL: MANAGED_BY, **labels}
        self.what = what
        self.retry = RetryPolicy()

    def _get(self) -> dict[str, Any] | None:
        found = with_retries(
            self.retry, lambda: self.cluster.get("v1", "ConfigMap", self.name, self.namespace)
        )
        return None if found is None else dict(found)

    def load(self) -> list[Application]:
        """The apps kept ([] when none were). ConfigError when the cluster
        cannot say, or the ConfigMap does not read."""
        try:
            found = self._get()
        except ClusterError as e:
            raise ConfigError(f"{self.what} cannot be read: {e}") from None
        if found is None:
            return []
        try:
            blob = (found.get("binaryData") or {}).get(KEY, "")
            data = json.loads(gzip.decompress(base64.b64decode(blob))) if blob else []
            return [Application.model_validate(d) for d in data]
        except (ValueError, TypeError, OSError, ValidationError) as e:
            where = f"{self.namespace}/{self.name}"
            raise ConfigError(f"{self.what}: ConfigMap {where} is unreadable: {e}") from None

    def save(self, apps: Sequence[Application]) -> None:
        """Keep ``apps`` (unchanged: no write).  ConfigError when it could not."""
        body = encode(apps)
        obj = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": self.labels},
            "binaryData": {KEY: body},
        }
        try:
            live = self._get()
            if live is not None and (live.get("binaryData") or {}).get(KEY) == body:
                return
            ensure_namespace(self.cluster, self.namespace, self.retry)
            with_retries(self.retry, lambda: self.cluster.apply(obj, force=True))
        except ClusterError as e:
            raise ConfigError(f"{self.what} cannot be kept: {e}") from None


__all__ = ["KEY", "StoredApps", "encode"]
