"""Charts on disk: ``Chart.yaml``, dependencies and the tree they form.

A chart is a folder with ``Chart.yaml`` (``apiVersion`` v1 or v2, ``name``,
``version``, ``appVersion``, ``description``, ``type: application|library``,
``dependencies``), ``values.yaml``, an optional ``values.schema.json``,
``templates/`` and an optional ``crds/`` folder.

A dependency is found, in this order, as a chart vendored unpacked in
``charts/`` (its ``Chart.yaml`` name matches, as ``helm dependency build``
leaves it), or through ``repository: file://<path>`` relative to the chart,
which must stay inside the repository.  Repositories are never contacted
while rendering: a dependency from a remote repository must be vendored.
Charts in ``charts/`` that ``Chart.yaml`` does not list are subcharts too,
as in Helm.  ``alias`` renames a dependency (its values key and its name),
``condition`` (``a.enabled,b.enabled``: the first path that holds a boolean
decides) and ``tags`` switch it off; library charts only provide macros.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import RenderFailed
from agent.render import semver
from agent.render.documents import load_mapping
from agent.render.paths import read_text
from agent.render.values import Values, load_values_file, lookup

MAX_DEPTH = 10  # levels of subcharts
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$", re.IGNORECASE)


@dataclass(frozen=True)
class Dependency:
    name: str
    version: str = ""
    repository: str = ""
    alias: str = ""
    condition: str = ""
    tags: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class Chart:
    """One chart of the tree, with what its parent said about it."""

    root: Path  # resolved folder
    shown: str  # how messages name the folder
    meta: dict[str, Any]  # Chart.yaml as written (the template's ``chart``)
    defaults: Values
    key: str  # its name in its parent's values (alias or name)
    condition: str = ""
    tags: tuple[str, ...] = ()
    children: list[Chart] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def version(self) -> str:
        return str(self.meta["version"])

    @property
    def library(self) -> bool:
        return self.meta.get("type") == "library"

    def enabled_in(self, parent_values: Mapping[str, Any]) -> bool:
        """Helm's rules: a condition path holding a boolean decides; else
        any listed tag set true enables, all listed tags set false disable."""
        for path in (p.strip() for p in self.condition.split(",") if p.strip()):
            found, value = lookup(parent_values, path)
            if found and isinstance(value, bool):
                return value
        tags = parent_values.get("tags")
        if self.tags and isinstance(tags, Mapping):
            states = [tags[t] for t in self.tags if isinstance(tags.get(t), bool)]
            if states:
                return any(states)
        return True


def load_chart_meta(root: Path, shown: str) -> dict[str, Any]:
    where = f"{shown}/Chart.yaml"
    meta = load_mapping(read_text(root / "Chart.yaml", where, 1024 * 1024), where, "Chart.yaml")
    api = meta.get("apiVersion", "v2")
    if api not in ("v1", "v2"):
        raise RenderFailed(f"{where}: apiVersion must be v1 or v2, not {api!r}")
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise RenderFailed(f"{where}: missing name")
    if not _NAME.match(name):
        raise RenderFailed(f"{where}: name {name!r} must be letters, digits, '-', '_' or '.'")
    version = meta.get("version")
    if version is None or version == "":
        raise RenderFailed(f"{where}: missing version")
    meta["version"] = str(version)
    try:
        semver.parse(meta["version"])
    except RenderFailed:
        raise RenderFailed(f"{where}: version {version!r} is not a semantic version (like 1.2.3)") from None
    kind = meta.get("type", "application")
    if kind not in ("application", "library"):
        raise RenderFailed(f"{where}: type must be application or library, not {kind!r}")
    return meta


def _dependencies(meta: Mapping[str, Any], where: str) -> list[Dependency]:
    raw = meta.get("dependencies") or []
    if not isinstance(raw, list):
        raise RenderFailed(f"{where}: dependencies must be a list")
    out: list[Dependency] = []
    keys: set[str] = set()
    for i, d in enumerate(raw):
        at = f"{where}: dependencies[{i}]"
        if not isinstance(d, Mapping) or not isinstance(d.get("name"), str) or not d["name"]:
            raise RenderFailed(f"{at}: needs a name")
        tags = d.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise RenderFailed(f"{at}.tags: must be a list of names")
        dep = Dependency(
            name=d["name"],
            version=str(d.get("version") or ""),
            repository=str(d.get("repository") or ""),
            alias=str(d.get("alias") or ""),
            condition=str(d.get("condition") or ""),
            tags=tuple(tags),
        )
        if dep.alias and not _NAME.match(dep.alias):
            raise RenderFailed(f"{at}.alias: {dep.alias!r} is not a valid name")
        if dep.key in keys:
            raise RenderFailed(f"{at}: two dependencies are called {dep.key!r} (use alias)")
        keys.add(dep.key)
        out.append(dep)
    return out


def _vendored(root: Path, shown: str, repo: Path) -> dict[str, Path]:
    """Charts unpacked in ``charts/``, by the name their Chart.yaml gives."""
    folder = root / "charts"
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for entry in sorted(folder.iterdir(), key=lambda p: p.name.encode()):
        if entry.name.startswith("."):
            continue
        real = entry.resolve()
        if not real.is_relative_to(repo):
            raise RenderFailed(f"{shown}/charts/{entry.name}: symlink points outside the repository; refused")
        if entry.suffix in (".tgz", ".gz", ".tar"):
            raise RenderFailed(
                f"{shown}/charts/{entry.name}: packaged charts are not read; "
                "unpack it into charts/ (tar xzf) and commit the folder"
            )
        if real.is_dir() and (real / "Chart.yaml").is_file():
            name = load_chart_meta(real, f"{shown}/charts/{entry.name}")["name"]
            found.setdefault(name, real)
    return found


def _shown(path: Path, repo: Path, parent: Chart) -> str:
    """Name a chart folder for messages: under its parent when it is inside
    it, else by its path in the repository."""
    if path.is_relative_to(parent.root):
        rel = path.relative_to(parent.root).as_posix()
        return f"{parent.shown}/{rel}"
    prefix = parent.shown.split(": ", 1)[0] + ": " if ": " in parent.shown else ""
    return prefix + path.relative_to(repo).as_posix()


def load_chart(root: Path, shown: str, repo: Path) -> Chart:
    """The chart at ``root`` and every subchart below it."""
    meta = load_chart_meta(root, shown)
    chart = Chart(root.resolve(), shown, meta, _defaults(root, shown), meta["name"])
    _load_children(chart, repo.resolve(), [chart.root])
    return chart


def _defaults(root: Path, shown: str) -> Values:
    path = root / "values.yaml"
    return load_values_file(path, f"{shown}/values.yaml") if path.is_file() else {}


def _load_children(chart: Chart, repo: Path, ancestors: list[Path]) -> None:
    if len(ancestors) > MAX_DEPTH:
        raise RenderFailed(f"{chart.shown}: subcharts nested more than {MAX_DEPTH} levels deep")
    where = f"{chart.shown}/Chart.yaml"
    vendored = _vendored(chart.root, chart.shown, repo)
    listed = _dependencies(chart.meta, where)
    used: set[str] = set()
    for dep in listed:
        path = vendored.get(dep.name)
        if path is not None:
            used.add(dep.name)
        elif dep.repository.startswith("file://"):
            rel = dep.repository.removeprefix("file://")
            path = (chart.root / rel).resolve()
            if not path.is_relative_to(repo):
                raise RenderFailed(
                    f"{where}: dependency {dep.name!r}: {dep.repository} leaves the repository; refused"
                )
            if not (path / "Chart.yaml").is_file():
                raise RenderFailed(f"{where}: dependency {dep.name!r}: no chart at {dep.repository}")
        else:
            source = f" from {dep.repository}" if dep.repository else ""
            raise RenderFailed(
                f"{where}: dependency {dep.name!r}{source} is not vendored in charts/; "
                "repositories are never fetched while rendering: vendor it "
                "(helm dependency update, then unpack) or use repository: file://PATH"
            )
        chart.children.append(_child(chart, path, dep, repo, ancestors))
    for name, path in vendored.items():
        if name not in used and all(d.name != name for d in listed):
            chart.children.append(_child(chart, path, Dependency(name), repo, ancestors))
    chart.children.sort(key=lambda c: c.key.encode())


def _child(parent: Chart, path: Path, dep: Dependency, repo: Path, ancestors: list[Path]) -> Chart:
    if path in ancestors:
        raise RenderFailed(f"{parent.shown}/Chart.yaml: dependency {dep.name!r} depends on itself")
    shown = _shown(path, repo, parent)
    meta = load_chart_meta(path, shown)
    if meta["name"] != dep.name:
        raise RenderFailed(
            f"{parent.shown}/Chart.yaml: dependency {dep.name!r}: {shown} is chart {meta['name']!r}"
        )
    try:
        allowed = not dep.version or semver.satisfies(meta["version"], dep.version)
    except RenderFailed as e:
        raise RenderFailed(f"{parent.shown}/Chart.yaml: dependency {dep.name!r}: {e}") from None
    if not allowed:
        raise RenderFailed(
            f"{parent.shown}/Chart.yaml: dependency {dep.name!r} wants version {dep.version!r}, "
            f"{shown} is {meta['version']}"
        )
    child = Chart(path, shown, meta, _defaults(path, shown), dep.key, dep.condition, dep.tags)
    _load_children(child, repo, [*ancestors, path])
    return child
