"""The fleet's configuration: where an app goes (a named cluster and a
namespace), what it waits for (``dependsOn``), when it may sync (sync
windows), and the generators that declare apps from Git (``AppSet``).

Pure pydantic models, read from ``agent.yaml`` and from ``Application`` and
``AppSet`` documents in Git alike; what they mean at run time (resolving the
fleet, generating apps, holding an app for its dependencies, windows) lives
in :mod:`agent.fleet`.

Names follow the peers where they have one: Argo CD's ``destination``,
``syncWindows`` (``kind``, ``schedule``, ``duration``, ``manualSync``,
``timeZone``) and ApplicationSet generators (``list``, ``git`` directories
and files, ``clusters``, ``matrix``); Flux's ``dependsOn`` and ``suspend``.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from agent.config.base import DNS1123_LABEL, ConfigModel

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
# five cron fields (minute hour day-of-month month day-of-week), or a macro
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?]+$")
_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def duration_seconds(text: str) -> int:
    """``1h30m``, ``45m``, ``90s`` (Argo CD's window durations) in seconds."""
    m = _DURATION.match(text.strip())
    if not text.strip() or m is None or not any(m.groups()):
        raise ValueError(f"{text!r} is not a duration (like 1h, 30m, 1h30m, 90s)")
    hours, minutes, seconds = (int(g) if g else 0 for g in m.groups())
    return hours * 3600 + minutes * 60 + seconds


class Destination(ConfigModel):
    """Where an app's objects go: a cluster named in ``clusters:`` (``cluster:``
    is the one named ``default``) and the namespace (the same as the app's
    ``namespace``, which it overrides when both are written)."""

    cluster: str = "default"
    namespace: str | None = None

    @field_validator("cluster")
    @classmethod
    def _cluster(cls, v: str) -> str:
        if len(v) > 63 or not DNS1123_LABEL.match(v):
            raise ValueError(f"{v!r} is not a valid cluster name (lower-case letters, digits and '-')")
        return v


class SyncWindow(ConfigModel):
    """A time when syncs are allowed (``allow``) or refused (``deny``), as in
    Argo CD: from each time ``schedule`` (cron, in ``timeZone``) fires, for
    ``duration``.  When any allow window exists for an app, the app syncs only
    inside one; a deny window wins over an allow window.  ``manualSync`` lets
    a sync asked for by hand through anyway.  In ``agent.yaml``'s
    ``syncWindows:`` a window applies to the apps it selects (``apps``: names
    or globs; ``selector``: labels; ``clusters``: cluster names; all apps when
    it selects nothing); in an app's own ``syncWindows`` to that app."""

    kind: Literal["allow", "deny"]
    schedule: str
    duration: str
    time_zone: str = "UTC"
    manual_sync: bool = False
    apps: list[str] = Field(default_factory=list)
    selector: dict[str, str] = Field(default_factory=dict)
    clusters: list[str] = Field(default_factory=list)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str) -> str:
        fields = v.split()
        if not (len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields)) and v.strip() not in _MACROS:
            raise ValueError(f"{v!r} is not a cron schedule (five fields: minute hour day month weekday)")
        return v

    @model_validator(mode="after")
    def _cron(self) -> SyncWindow:
        from agent.config.cron import cron_trigger  # noqa: PLC0415 - APScheduler only where windows exist

        try:
            cron_trigger(self.schedule, self.time_zone)
        except ValueError as e:
            raise ValueError(f"schedule {self.schedule!r}: {e}") from None
        return self

    @field_validator("duration")
    @classmethod
    def _duration(cls, v: str) -> str:
        duration_seconds(v)
        return v

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not a time zone (like UTC or Europe/Berlin)") from None
        return v

    @property
    def seconds(self) -> int:
        return duration_seconds(self.duration)


# -- generators (AppSet) ------------------------------------------------------------------
class ListGenerator(ConfigModel):
    """One app per element; an element's keys are the template's parameters."""

    elements: list[dict[str, Any]] = Field(default_factory=list)


class GitDirectoriesGenerator(ConfigModel):
    """One app per directory of ``repo`` (default: the repository the AppSet
    comes from) matching one of ``directories`` (globs, ``*`` within one
    level, ``**`` across levels) and none of ``exclude``.  Parameters:
    ``path.path``, ``path.basename``, ``path.segments``."""

    repo: str | None = None
    revision: str | None = None
    directories: list[str] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)


class GitFilesGenerator(ConfigModel):
    """One app per YAML or JSON file of ``repo`` matching ``files`` (globs);
    the file's keys (a mapping) are the parameters, beside ``path.*`` of the
    file's folder."""

    repo: str | None = None
    revision: str | None = None
    files: list[str] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)


class ClustersGenerator(ConfigModel):
    """One app per cluster of ``clusters:`` whose labels match ``selector``
    (all clusters when empty).  Parameters: ``cluster.name``,
    ``cluster.labels``."""

    selector: dict[str, str] = Field(default_factory=dict)


class Generator(ConfigModel):
    """Exactly one kind of generator."""

    list: ListGenerator | None = None
    git_directories: GitDirectoriesGenerator | None = None
    git_files: GitFilesGenerator | None = None
    clusters: ClustersGenerator | None = None
    matrix: MatrixGenerator | None = None

    @model_validator(mode="after")
    def _one(self) -> Generator:
        chosen = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError("a generator is exactly one of list, gitDirectories, gitFiles, clusters, matrix")
        return self


class MatrixGenerator(ConfigModel):
    """Every combination of the parameters of two generators."""

    generators: list[Generator] = Field(min_length=2, max_length=2)


Generator.model_rebuild()


class DeletionBudget(ConfigModel):
    """How many of its apps an AppSet may remove in one pass.  A generator
    that fails or returns nothing never removes anything (unless
    ``allowEmpty``); beyond ``maxPercent`` of the apps it had, nothing is
    removed and the report says why."""

    max_percent: int = Field(default=50, ge=0, le=100)
    allow_empty: bool = False


class AppTemplate(ConfigModel):
    """An app's fields with Jinja expressions (``{{ path.basename }}``) in
    its strings; ``metadata.name`` names each generated app."""

    metadata: dict[str, Any] = Field(default_factory=dict)
    spec: dict[str, Any] = Field(default_factory=dict)


class AppSetSpec(ConfigModel):
    generators: list[Generator] = Field(min_length=1)
    template: AppTemplate
    deletion_budget: DeletionBudget = Field(default_factory=DeletionBudget)


class AppSet(ConfigModel):
    """``kind: AppSet``, inline in ``agent.yaml``'s ``appSets:`` or as a
    document in an app's repository."""

    name: str
    spec: AppSetSpec

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if len(v) > 63 or not DNS1123_LABEL.match(v):
            raise ValueError(f"{v!r} is not a valid name (lower-case letters, digits and '-', at most 63)")
        return v


# -- dependsOn ------------------------------------------------------------------------------
def find_cycle(depends_on: dict[str, list[str]]) -> list[str] | None:
    """A cycle of ``dependsOn`` as the names along it, first name repeated at
    the end (``["a", "b", "a"]``), or None.  Names that are not keys (apps
    declared elsewhere) end a path.  Pure, so the configuration refuses a
    cycle at load time and :mod:`agent.fleet.graph` over the whole fleet."""
    done: set[str] = set()
    for start in sorted(depends_on):
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start: 0}
        stack = [iter(depends_on[start])]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                name = path.pop()
                del on_path[name]
                done.add(name)
                stack.pop()
                continue
            if nxt in on_path:
                return [*path[on_path[nxt] :], nxt]
            if nxt in done or nxt not in depends_on:
                continue
            on_path[nxt] = len(path)
            path.append(nxt)
            stack.append(iter(depends_on[nxt]))
    return None


def cycle_text(cycle: list[str]) -> str:
    return " -> ".join(cycle)
