"""The render stage (pure): a folder of a checkout in, manifests out.

A folder with ``Chart.yaml`` is a Jinja chart (:mod:`agent.render.chart`);
any other folder is plain YAML, read recursively (``.yaml``, ``.yml``,
``.json``) in path order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import RenderError
from agent.models import Manifest
from agent.render.chart import Release, chart_values, load_values_file, render_chart
from agent.render.manifests import finalize, parse_manifests

PLAIN_SUFFIXES = (".yaml", ".yml", ".json")

__all__ = ["Release", "RenderRequest", "RenderResult", "render"]


@dataclass(frozen=True)
class RenderRequest:
    root: Path  # the repository checkout
    path: str  # folder inside it
    release: Release
    values_files: Sequence[str] = ()  # relative to the app folder
    values: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""  # how to name the folder in messages (default: path)


@dataclass(frozen=True)
class RenderResult:
    manifests: tuple[Manifest, ...]
    chart: bool


def _inside(root: Path, rel: str, what: str, shown: str) -> Path:
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise RenderError(f"{shown}: {what} {rel!r} leaves the repository; refused")
    return path


def render(req: RenderRequest) -> RenderResult:
    shown = req.label or req.path
    folder = _inside(req.root, req.path, "path", shown)
    if not folder.is_dir():
        raise RenderError(f"{shown}: folder not found in the repository at this revision")
    if (folder / "Chart.yaml").is_file():
        layers: list[Mapping[str, Any]] = []
        for name in req.values_files:
            vf = _inside(folder, name, "values file", shown)
            if not vf.is_relative_to(req.root.resolve()):
                raise RenderError(f"{shown}: values file {name!r} leaves the repository; refused")
            layers.append(load_values_file(vf, f"{shown}/{name}"))
        layers.append(req.values)
        values = chart_values(folder, shown, layers)
        manifests = render_chart(folder, shown, req.release, values)
        chart = True
    else:
        if req.values_files or req.values:
            raise RenderError(f"{shown}: values are set but the folder is not a chart (no Chart.yaml)")
        manifests = _plain(folder, shown)
        chart = False
    return RenderResult(tuple(finalize(manifests, req.release.namespace)), chart)


def _plain(folder: Path, shown: str) -> list[Manifest]:
    out: list[Manifest] = []
    root = folder.resolve()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix not in PLAIN_SUFFIXES:
            continue
        rel = path.relative_to(folder).as_posix()
        if not path.resolve().is_relative_to(root):
            raise RenderError(f"{shown}/{rel}: symlink leaves the app folder; refused")
        out.extend(parse_manifests(path.read_text(encoding="utf-8"), f"{shown}/{rel}"))
    return out
