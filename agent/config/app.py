"""One application's entry in ``agent.yaml``, as pydantic models: its
source revision and path, its sync policy (with the retries of API
requests), the differences drift ignores and the signatures its commits
need.  Also the base every configuration model shares.

Cut from :mod:`agent.config` (which re-exports these names) because an app's
entry is what the sync reads, while the rest of the file (cluster, sources,
daemon) is read by whoever connects; as Argo CD keeps its ``Application``
spec apart from its settings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from agent.config.base import DNS1123_LABEL, ConfigModel
from agent.config.fleet import Destination, SyncWindow
from agent.diff.ignore import IgnoreRule
from agent.diff.paths import parse_dotted, parse_pointer

__all__ = [
    "DNS1123_LABEL",
    "AppHealth",
    "Application",
    "CelHealthCheck",
    "ChartSource",
    "ConfigModel",
    "IgnoreDifference",
    "RetryPolicy",
    "SignatureVerification",
    "SyncPolicy",
]


class RetryPolicy(ConfigModel):
    """Retries of API requests that failed for a passing reason (429, 5xx,
    timeouts, optimistic-lock conflicts): exponential backoff with jitter,
    or the server's Retry-After when it gives one; all the retries of one
    sync together wait at most ``max_total_backoff_seconds``."""

    attempts: int = Field(default=5, ge=1, le=20)
    backoff_seconds: float = Field(default=0.5, gt=0)
    max_backoff_seconds: float = Field(default=10, gt=0)
    max_total_backoff_seconds: float = Field(default=120, gt=0)
    # the running sync's account of that total (set by the sync, never by the file)
    _budget: Any = PrivateAttr(default=None)


class SyncPolicy(ConfigModel):
    automated: bool = True
    prune: bool = True
    self_heal: bool = True
    create_namespace: bool = False  # create the app's namespace when missing (never pruned)
    adopt: bool = False  # take over existing objects no agent manages (otherwise: a conflict)
    allow_empty: bool = False  # let a render of no objects prune everything the app owns
    max_prune_percent: int | None = Field(default=None, ge=1, le=100)  # refuse syncs pruning more
    rollback_on_failure: bool = True
    health_timeout_seconds: float = Field(default=300, gt=0)
    wait_for_health: bool = True  # wait for each wave (and the whole app) to be healthy
    apply_strategy: Literal["server-side", "client-side"] = "server-side"
    force: bool = True  # server-side apply takes over fields other managers changed (Git wins)
    replace_on_immutable: bool = False  # delete and recreate objects whose immutable fields changed
    parallelism: int = Field(default=8, ge=1, le=64)  # concurrent requests within a wave
    retry: RetryPolicy = Field(default_factory=RetryPolicy)


class IgnoreDifference(ConfigModel):
    """Fields of selected objects that are never drift and that sync leaves
    alone (Argo CD's ``ignoreDifferences``)."""

    group: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    json_pointers: list[str] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list)
    managed_fields_managers: list[str] = Field(default_factory=list)

    @field_validator("json_pointers")
    @classmethod
    def _pointers(cls, v: list[str]) -> list[str]:
        for p in v:
            parse_pointer(p)
        return v

    @field_validator("paths")
    @classmethod
    def _paths(cls, v: list[str]) -> list[str]:
        for p in v:
            parse_dotted(p)
        return v

    def rule(self) -> IgnoreRule:
        return IgnoreRule(
            self.group,
            self.kind,
            self.name,
            self.namespace,
            tuple(self.json_pointers),
            tuple(self.paths),
            tuple(self.managed_fields_managers),
        )


class SignatureVerification(ConfigModel):
    """Apply only commits signed by a trusted key: OpenPGP keys in a keyring
    file, and/or SSH keys in an allowed-signers file."""

    keyring: str | None = None
    allowed_signers: str | None = None

    @model_validator(mode="after")
    def _something(self) -> SignatureVerification:
        if self.keyring is None and self.allowed_signers is None:
            raise ValueError("set keyring, allowedSigners or both")
        return self


LUA_KEY = "resource.customizations.health."


class CelHealthCheck(ConfigModel):
    """One kind's expressions, as Flux writes them in ``healthCheckExprs``."""

    api_version: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    current: str = Field(min_length=1)
    in_progress: str = ""
    failed: str = ""


class AppHealth(ConfigModel):
    """An app's own health rules (``apps[].health``), before the agent-wide
    ones: CEL checks, per app as in a Flux Kustomization's
    ``healthCheckExprs``, and a folder of the app's repository holding
    ``<group>/<Kind>/health.lua`` scripts and ``health.cel`` rules (Argo
    CD's ``resource_customizations`` layout), read at the commit being
    synced."""

    checks: list[CelHealthCheck] = Field(default_factory=list)
    lua_dir: str | None = None

    @field_validator("lua_dir")
    @classmethod
    def _inside(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or Path(v).is_absolute() or ".." in Path(v).parts):
            raise ValueError(f"{v!r} must be a folder of the app's repository (no leading '/', no '..')")
        return v


class ChartSource(ConfigModel):
    """A Helm chart from a chart repository (``https://...``, its
    ``index.yaml``) or an OCI registry (``oci://host/path``); ``version`` is a
    version or a range (``^1.2``, ``~1.2.3``, ``>=1 <2``).  The app's own
    repository and path then hold its values files."""

    repo: str
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    version: str = "*"
    plain_http: bool = False  # an OCI registry over plain HTTP (a local one)

    @field_validator("repo")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if not re.match(r"^(https?|oci)://[^/\s]+", v):
            raise ValueError(f"{v!r}: a chart repository is an https://, http:// or oci:// URL")
        return v


class Application(ConfigModel):
    name: str
    repo: str
    revision: str = "HEAD"
    path: str = "."
    namespace: str = "default"
    values_files: list[str] = Field(default_factory=list)
    values: dict[str, Any] = Field(default_factory=dict)
    interval_seconds: float = Field(default=60, gt=0)
    history_limit: int = Field(default=10, ge=1, description="revision records kept")
    ignore_differences: list[IgnoreDifference] = Field(default_factory=list)
    strict_drift: bool = False  # also report fields others added (present live, never in Git)
    sync_policy: SyncPolicy = Field(default_factory=SyncPolicy)
    verify: SignatureVerification | None = None
    openapi_validation: bool = True  # check rendered objects against the Kubernetes OpenAPI schemas
    health: AppHealth = Field(default_factory=AppHealth)  # the app's own health rules
    chart: ChartSource | None = None  # render this chart from a chart repository (values from path)
    # the fleet (agent.config.fleet): where the app goes, what it waits for, when it may sync
    labels: dict[str, str] = Field(default_factory=dict)  # selected by sync --selector and windows
    destination: Destination = Field(default_factory=Destination)
    depends_on: list[str] = Field(default_factory=list)  # apps synced and Healthy before this one syncs
    sync_windows: list[SyncWindow] = Field(default_factory=list)
    suspend: bool = False  # no reconcile at all (as `gitops-agent suspend`, but written in Git)
    cascade_delete: bool = False  # when the app leaves the fleet, delete what it owns (else: orphan)

    @model_validator(mode="before")
    @classmethod
    def _destination_namespace(cls, data: Any) -> Any:
        """``destination.namespace`` is the app's ``namespace``."""
        if isinstance(data, dict):
            dest = data.get("destination")
            if isinstance(dest, dict) and dest.get("namespace") is not None:
                data = {**data, "namespace": dest["namespace"]}
        return data

    @property
    def cluster(self) -> str:
        """The name of the cluster the app's objects go to."""
        return self.destination.cluster

    @field_validator("depends_on")
    @classmethod
    def _deps(cls, v: list[str]) -> list[str]:
        for name in v:
            if len(name) > 63 or not DNS1123_LABEL.match(name):
                raise ValueError(f"{name!r} is not an app name")
        return list(dict.fromkeys(v))

    @field_validator("name", "namespace")
    @classmethod
    def _dns_label(cls, v: str) -> str:
        if len(v) > 63 or not DNS1123_LABEL.match(v):
            raise ValueError(f"{v!r} is not a valid name (lower-case letters, digits and '-', at most 63)")
        return v

    @field_validator("path")
    @classmethod
    def _relative_path(cls, v: str) -> str:
        parts = Path(v).parts
        if Path(v).is_absolute() or ".." in parts:
            raise ValueError(f"{v!r} must be a path inside the repository (no leading '/', no '..')")
        return v
