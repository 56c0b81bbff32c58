"""The agent's configuration file (``agent.yaml``), as pydantic models.

Relative paths (the emulated cluster's database, a kubeconfig, a local
repository) are resolved against the directory of the configuration file, so
a config works the same from any working directory.  ``${VAR}`` in a string
expands from the environment (``$${VAR}`` is a literal ``${VAR}``); expanded
values are registered with :mod:`agent.redact` and never printed.

An application's own entry (its source, sync policy, drift ignores and
signature checks) is in :mod:`agent.config.app`; its models are importable
from here as well, as the whole file's are.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from agent.config.app import (
    DNS1123_LABEL,
    Application,
    ChartSource,
    ConfigModel,
    IgnoreDifference,
    RetryPolicy,
    SignatureVerification,
    SyncPolicy,
)
from agent.config.clusters import DEFAULT_CLUSTER, ClusterConfig, EmulatedClusterSettings, Kubeconfig
from agent.config.fleet import AppSet, Destination, SyncWindow, cycle_text, find_cycle
from agent.config.ha import HaSettings
from agent.config.health import HealthConfig
from agent.errors import ConfigError
from agent.redact import register_secret
from agent.render.documents import load_documents

__all__ = [
    "DEFAULT_CLUSTER",
    "DNS1123_LABEL",
    "AgentConfig",
    "AppSet",
    "Application",
    "BackoffSettings",
    "ChartSource",
    "ClusterConfig",
    "ConfigModel",
    "DaemonConfig",
    "Destination",
    "EmulatedClusterSettings",
    "HaSettings",
    "IgnoreDifference",
    "Kubeconfig",
    "Notification",
    "RepoCredentials",
    "RetryPolicy",
    "SecretRef",
    "SignatureVerification",
    "SourceConfig",
    "SyncPolicy",
    "SyncWindow",
    "WebhookConfig",
    "WebhookSecrets",
    "load_config",
    "parse_config",
]

# a URL, or what must reach the URL check as written: a remote helper
# (``ext::``, ``fd::``) or an option in disguise (``--upload-pack=``)
_REMOTE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:|[A-Za-z0-9+.-]+::|-)")
_ENV = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")


class SecretRef(ConfigModel):
    """A secret read when needed: from an environment variable or a file
    (relative to the configuration file), never written in the config."""

    env: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("set exactly one of env, file")
        return self


class RepoCredentials(ConfigModel):
    """Credentials for every repository whose URL starts with ``url``
    (the longest matching prefix wins)."""

    url: str
    username: str | None = None  # HTTPS user (default "git")
    password: SecretRef | None = None  # HTTPS password or token
    ssh_key: SecretRef | None = None  # OpenSSH private key, no passphrase
    known_hosts: SecretRef | None = None  # known_hosts lines (default: ~/.ssh/known_hosts)

    @model_validator(mode="after")
    def _something(self) -> RepoCredentials:
        if self.password is None and self.ssh_key is None and self.known_hosts is None:
            raise ValueError("set password, sshKey or knownHosts")
        return self


Scheme = Literal["https", "http", "ssh", "git", "file"]
DEFAULT_SCHEMES: tuple[Scheme, ...] = ("https", "ssh", "git")


class SourceConfig(ConfigModel):
    """How repositories are fetched: allowed URL schemes, credentials, timeouts."""

    allowed_schemes: list[Scheme] = Field(
        default_factory=lambda: list(DEFAULT_SCHEMES),
        description="add http for plain HTTP, file for local paths and file:// URLs",
    )
    timeout_seconds: float = Field(default=60, gt=0, description="for every git network operation")
    checkout_ttl_seconds: float = Field(default=3600, gt=0, description="unused checkouts are removed")
    credentials: list[RepoCredentials] = Field(default_factory=list)


class WebhookSecrets(ConfigModel):
    """Per provider: a shared secret (HMAC key, or GitLab's token).  A
    provider with a secret refuses unsigned requests; write them as
    ``${VAR}`` so they come from the environment and are never printed."""

    github: str | None = None
    gitlab: str | None = None
    gitea: str | None = None  # Gitea and Forgejo
    bitbucket_server: str | None = None
    bitbucket: str | None = None  # Bitbucket Cloud
    generic: str | None = None  # HMAC key for X-Signature
    generic_token: str | None = None  # or a bearer token, for CI systems that cannot sign


class WebhookConfig(ConfigModel):
    secrets: WebhookSecrets = Field(default_factory=WebhookSecrets)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    debounce_seconds: float = Field(default=0.2, ge=0, description="pushes in this window: one reconcile")
    queue_size: int = Field(default=100, ge=1, description="apps waiting for a reconcile; beyond: 503")


NotifyEvent = Literal["sync-failed", "rollback", "drift"]
NOTIFY_EVENTS: tuple[NotifyEvent, ...] = ("sync-failed", "rollback", "drift")


class Notification(ConfigModel):
    name: str
    url: str
    format: Literal["slack", "json"] = "json"
    events: list[NotifyEvent] = Field(default_factory=lambda: list(NOTIFY_EVENTS))
    timeout_seconds: float = Field(default=10, gt=0)
    retries: int = Field(default=3, ge=0, le=10)


class BackoffSettings(ConfigModel):
    """The daemon's retry delay for an app whose reconciles keep failing."""

    initial_seconds: float = Field(default=5, gt=0)
    max_seconds: float = Field(default=300, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> BackoffSettings:
        if self.max_seconds < self.initial_seconds:
            raise ValueError("maxSeconds must be >= initialSeconds")
        return self


class DaemonConfig(ConfigModel):
    """``gitops-agent run``: the HTTP server, the scheduler and its limits."""

    address: str = Field(
        default_factory=lambda: os.environ.get("GITOPS_AGENT_ADDRESS") or "127.0.0.1",
        description="where to listen; default: $GITOPS_AGENT_ADDRESS (0.0.0.0 in the image), else 127.0.0.1",
    )
    port: int = Field(default=8080, ge=0, le=65535)
    # 8 measured on 2 cores (bench/fleet.py, 200 apps): start -> all synced 57 s at 4, 40 s at 8,
    # 32 s at 16 for 10 MiB more; a reconcile mostly waits (writes, rollouts), reads come from the
    # shared view of the cluster
    concurrency: int = Field(default=8, ge=1, description="apps reconciled at the same time")
    jitter_percent: float = Field(default=10, ge=0, le=50, description="random spread of each interval")
    backoff: BackoffSettings = Field(default_factory=BackoffSettings)
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)
    ha: HaSettings = Field(default_factory=HaSettings)
    api_token: str | None = None  # bearer token for POST sync/rollback; none: those are disabled
    read_token: str | bool | None = Field(
        default=None,
        description="reading the pages and the API needs a token too: true (the apiToken) or another token",
    )
    notifications: list[Notification] = Field(default_factory=list)
    shutdown_grace_seconds: float = Field(default=60, ge=0)
    liveness_seconds: float = Field(
        default=120, ge=5, description="/livez answers 503 when the scheduler has not ticked for this long"
    )
    header_timeout_seconds: float = Field(default=10, gt=0)
    read_timeout_seconds: float = Field(default=30, gt=0)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @model_validator(mode="after")
    def _read_token(self) -> DaemonConfig:
        if self.read_token is True and not self.api_token:
            raise ValueError("readToken: true means the apiToken guards reads too, but no apiToken is set")
        if self.read_token == "":
            raise ValueError("readToken: an empty token")
        return self

    def read_tokens(self) -> tuple[str, ...]:
        """The tokens that may read the pages and the API; () when reading is open."""
        if self.read_token is None or self.read_token is False:
            return ()
        tokens = [self.api_token] if self.api_token else []
        if isinstance(self.read_token, str):
            tokens.append(self.read_token)
        return tuple(tokens)


class AgentConfig(ConfigModel):
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    clusters: list[ClusterConfig] = Field(default_factory=list, description="more clusters, each named")
    apps: list[Application] = Field(default_factory=list)
    app_sets: list[AppSet] = Field(default_factory=list, description="apps generated by generators")
    sync_windows: list[SyncWindow] = Field(default_factory=list, description="when selected apps may sync")
    state_dir: str = Field(default=".gitops-agent", description="repository cache and local state")
    source: SourceConfig = Field(default_factory=SourceConfig)
    base_dir: Path = Field(default=Path("."), exclude=True)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    _by_name: tuple[list[Application], dict[str, Application]] | None = PrivateAttr(default=None)

    @field_validator("apps")
    @classmethod
    def _unique_names(cls, apps: list[Application]) -> list[Application]:
        seen: set[str] = set()
        for app in apps:
            if app.name in seen:
                raise ValueError(f"two apps are named {app.name!r}")
            seen.add(app.name)
        if cycle := find_cycle({a.name: a.depends_on for a in apps}):
            raise ValueError(f"dependsOn forms a cycle: {cycle_text(cycle)}")
        return apps

    @model_validator(mode="after")
    def _clusters(self) -> AgentConfig:
        seen: dict[str, int] = {self.cluster.name: -1}
        databases: dict[Path, str] = {}
        for i, c in enumerate(self.all_clusters()):
            if i > 0 and c.name in seen:
                raise ValueError(f"clusters[{i - 1}]: two clusters are named {c.name!r}")
            seen[c.name] = i
            if c.kind == "emulated":
                path = self.resolve((c.emulated or EmulatedClusterSettings()).path)
                if path in databases:
                    raise ValueError(f"clusters {databases[path]!r} and {c.name!r} share the database {path}")
                databases[path] = c.name
        for app in self.apps:
            if app.cluster not in seen:
                raise ValueError(f"app {app.name!r}: destination.cluster {app.cluster!r} is not in the file")
        return self

    @model_validator(mode="after")
    def _health_folder(self) -> AgentConfig:
        folder = self.health.lua_dir
        if folder and not self.resolve(folder).is_dir():
            raise ValueError(f"health.luaDir: {folder} is not a folder")
        return self

    def all_clusters(self) -> list[ClusterConfig]:
        """``cluster:`` (named ``default`` unless it says otherwise), then ``clusters:``."""
        return [self.cluster, *self.clusters]

    def cluster_named(self, name: str) -> ClusterConfig:
        for c in self.all_clusters():
            if c.name == name:
                return c
        known = ", ".join(c.name for c in self.all_clusters())
        raise ConfigError(f"no cluster named {name!r} in the configuration (clusters: {known})")

    def resolve(self, path: str) -> Path:
        """A path from the config, relative to the config file's directory."""
        p = Path(os.path.expanduser(path))
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    def repo_location(self, app: Application) -> str:
        """A remote URL as written; a local repository path resolved
        against the config file's directory."""
        return app.repo if _REMOTE.match(app.repo) else str(self.resolve(app.repo))

    def app(self, name: str) -> Application:
        """The app ``name``, looked up by name: the daemon asks for each app
        several times a run, and a search of a fleet's list is the square of
        its size.  The index belongs to this list (a copy with other apps
        builds its own)."""
        kept = self._by_name
        if kept is None or kept[0] is not self.apps:
            index: dict[str, Application] = {}
            for a in self.apps:
                index.setdefault(a.name, a)
            kept = self._by_name = (self.apps, index)
        found = kept[1].get(name)
        if found is not None:
            return found
        known = ", ".join(a.name for a in self.apps) or "none"
        raise ConfigError(f"no app named {name!r} in the configuration (apps: {known})")

    def select(self, names: list[str] | None) -> list[Application]:
        return [self.app(n) for n in names] if names else list(self.apps)


def _expand_env(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        return {k: _expand_env(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        if m.group(1):  # $${VAR} -> literal ${VAR}
            return "${" + m.group(2) + "}"
        name = m.group(2)
        if name not in os.environ:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        secret = os.environ[name]
        register_secret(secret)
        return secret

    return _ENV.sub(sub, value)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(err: Any) -> str:
    ctx = err.get("ctx") or {}
    kind = err.get("type")
    if kind == "greater_than":
        bound = ctx.get("gt")
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"must be > {bound}"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    msg = str(err.get("msg", "invalid"))
    return msg.removeprefix("Value error, ")


def _line(where: str, message: str) -> str:
    return f"{where}: {message}" if where else message


def parse_config(data: Any, source: str, base_dir: Path) -> AgentConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping (cluster:, apps:)")
    try:
        data = _expand_env(data, "")
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    data = {**data, "baseDir": base_dir}
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as e:
        lines = [_line(_loc(tuple(err["loc"])), _message(err)) for err in e.errors()]
        raise ConfigError(f"{source}: " + "; ".join(lines)) from None


def load_config(path: str | Path) -> AgentConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found (use --config FILE)") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    # the render's loader: node, depth and alias limits, tag errors with their line
    docs = [d for d in load_documents(text, str(path), error=ConfigError) if d is not None]
    if len(docs) > 1:
        raise ConfigError(f"{path}: the configuration must be one YAML document, found {len(docs)}")
    data = docs[0] if docs else None
    return parse_config(data, str(path), path.resolve().parent)
