"""Fault injection: rehearse failures without a broken cluster.

Every request passes one gate (:meth:`Faults.gate`; the REST layer checks
asynchronously and marks the request as passed).  Faults are configured up
front (``emulator serve --faults FILE``, or the ``faults`` argument of
:class:`EmulatedCluster`) and changed at run time (``PUT
/emulator/v1/faults`` on the REST server, reachable while ``down`` is on,
or :meth:`Faults.update`).  The rules given up front are kept in the
cluster database, so a restart keeps them; rules set at run time last for
the run unless asked to persist (``?persist=true``).

* ``unpullableImages``: image patterns (shell globs such as ``*:v2`` or
  ``registry.example.com/*``) whose workloads never become ready, as with
  ImagePullBackOff; a Deployment then reports ProgressDeadlineExceeded after
  its ``progressDeadlineSeconds`` (times the emulator's time factor).
* **Default rule** (``defaultRules: true`` unless switched off): images
  tagged ``does-not-exist`` or ``broken`` are unpullable, so a failed rollout
  can be rehearsed by changing one tag and configuring nothing.
* ``crashLoopImages``: image patterns whose containers start and crash
  (CrashLoopBackOff): never ready, Jobs fail.
* ``errors``: API errors (500, 503, 429 with Retry-After, ...) at a rate, for
  given verbs and kinds.
* ``latencyMs``: added to every request (for given verbs, if listed).
* ``down``: every request fails with 503, as if the API server were gone.
"""

from __future__ import annotations

import contextvars
import fnmatch
import json
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.kube.errors import BadRequest, ClusterError, ClusterUnavailable, TooManyRequests

DEFAULT_UNPULLABLE = ("*:does-not-exist", "*:broken")
_REASONS = {
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
    409: "Conflict",
    403: "Forbidden",
}


# Set while a request runs that the REST layer has already let through the gate
# (it waits out the latency itself, without blocking its event loop).
_passed: contextvars.ContextVar[bool] = contextvars.ContextVar("faults_passed", default=False)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ErrorRule(_Model):
    code: int = Field(503, ge=400, le=599)
    rate: float = Field(1.0, ge=0.0, le=1.0)
    verbs: list[str] = []  # get, list, watch, create, update, patch, delete, deletecollection; empty: all
    kinds: list[str] = []  # kind or plural, case-insensitive; empty: all
    retry_after_seconds: int = Field(1, alias="retryAfterSeconds", ge=0)
    message: str = "injected fault"


class FaultConfig(_Model):
    unpullable_images: list[str] = Field(default_factory=list, alias="unpullableImages")
    crash_loop_images: list[str] = Field(default_factory=list, alias="crashLoopImages")
    default_rules: bool = Field(True, alias="defaultRules")
    errors: list[ErrorRule] = []
    latency_ms: int = Field(0, alias="latencyMs", ge=0)
    latency_verbs: list[str] = Field(default_factory=list, alias="latencyVerbs")
    down: bool = False


def parse_faults(data: Mapping[str, Any] | None, origin: str = "faults") -> FaultConfig:
    try:
        return FaultConfig.model_validate(dict(data or {}))
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadRequest(f"{origin}: {where}: {first['msg']}") from None


def _matches(values: Iterable[str], *candidates: str) -> bool:
    wanted = [v.lower() for v in values]
    return not wanted or any(c.lower() in wanted for c in candidates if c)


class Faults:
    """The fault rules in force, persisted through ``save`` (a callback)."""

    def __init__(self, config: FaultConfig | None = None, save: Any = None, seed: int | None = None) -> None:
        self._config = config or FaultConfig.model_validate({})
        self._save = save
        self._random = random.Random(seed)  # noqa: S311 - fault rates, not secrets
        self._lock = threading.Lock()

    @property
    def config(self) -> FaultConfig:
        return self._config

    def to_json(self) -> dict[str, Any]:
        return self._config.model_dump(by_alias=True)

    def replace(self, data: Mapping[str, Any], *, persist: bool = False) -> FaultConfig:
        """New rules for this run; kept across a restart only when
        ``persist`` (``PUT /emulator/v1/faults?persist=true``): a ``down``
        set to rehearse an outage must not outlive the server."""
        config = parse_faults(data)
        with self._lock:
            self._config = config
        if persist and self._save is not None:
            self._save(json.dumps(self.to_json()))
        return config

    def update(self, *, persist: bool = False, **changes: Any) -> FaultConfig:
        """Change some rules at run time: ``faults.update(down=True)``."""
        return self.replace({**self.to_json(), **changes}, persist=persist)

    # -- images ------------------------------------------------------------------------
    def image_fault(self, image: str) -> str:
        """``ImagePullBackOff``, ``CrashLoopBackOff`` or "" for an image."""
        cfg = self._config
        unpullable = list(cfg.unpullable_images) + (list(DEFAULT_UNPULLABLE) if cfg.default_rules else [])
        if any(fnmatch.fnmatchcase(image, p) for p in unpullable):
            return "ImagePullBackOff"
        if any(fnmatch.fnmatchcase(image, p) for p in cfg.crash_loop_images):
            return "CrashLoopBackOff"
        return ""

    # -- requests ----------------------------------------------------------------------
    def check(self, verb: str, kind: str = "", plural: str = "") -> float:
        """Raise the injected error for a request, if any; the added latency in seconds."""
        cfg = self._config
        if cfg.down:
            raise ClusterUnavailable("the emulated cluster is down (fault injection: down)")
        for rule in cfg.errors:
            if not _matches(rule.verbs, verb) or not _matches(rule.kinds, kind, plural):
                continue
            with self._lock:
                hit = self._random.random() < rule.rate
            if not hit:
                continue
            reason = _REASONS.get(rule.code, "InternalError")
            if rule.code == 429:
                raise TooManyRequests(
                    f"{rule.message}: too many requests", retry_after=rule.retry_after_seconds
                )
            retry = rule.retry_after_seconds if rule.code in (503, 504) else None
            raise ClusterError(f"{rule.message}: {reason}", code=rule.code, reason=reason, retry_after=retry)
        if cfg.latency_ms and _matches(cfg.latency_verbs, verb):
            return cfg.latency_ms / 1000.0
        return 0.0

    def gate(self, verb: str, kind: str = "", plural: str = "") -> None:
        """The one gate every request passes: :meth:`check`, sleeping for the added
        latency, unless the request already passed it (:meth:`passed`)."""
        if _passed.get():
            return
        delay = self.check(verb, kind, plural)
        if delay:
            time.sleep(delay)

    def check_down(self) -> None:
        """Refuse any request (health probes too) while the cluster is down."""
        if self._config.down:
            self.check("get")

    @staticmethod
    @contextmanager
    def passed() -> Iterator[None]:
        """Within: this request has been through :meth:`check` already (the REST layer's
        own gate, which awaits the latency instead of sleeping)."""
        token = _passed.set(True)
        try:
            yield
        finally:
            _passed.reset(token)
