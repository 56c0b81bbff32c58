"""Helm charts written in Go templates, rendered as ``helm template`` does.

A ``Chart.yaml`` folder is one of our Jinja charts when its templates use
Jinja (``{%``, ``{{ values.``); it is a Helm chart when they use Go
templates (``{{ .Values``, ``{{- define``, ``{{ end }}``).  A Helm chart
renders through the ``helm`` binary (:mod:`agent.render.engines`), offline:

* the values are the app's layers (values files, inline values, then
  ``--values``/``--set`` overrides), each given to Helm as a ``-f`` file in
  that order, over the chart's own ``values.yaml``;
* ``.Capabilities`` are the cluster's: ``--kube-version`` and every served
  API version as ``--api-versions``;
* ``crds/`` folders are included (``--include-crds``) and come first;
* subcharts are those in ``charts/`` (folders or ``.tgz``), plus
  ``repository: file://`` dependencies, copied in as ``helm dependency
  build`` would, and those from chart repositories that the sync pulled
  (``dependencies``, :func:`agent.sync.render.with_dependencies`); one
  neither vendored nor pulled is named in the error;
* ``lookup`` is refused by policy (a render reads no cluster; Helm's own
  ``helm template`` answers it with nothing, which silently renders
  something else than an install would).

The output is cached by the digest of the chart tree, the values, the
release, the capabilities and Helm's version.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import RenderFailed
from agent.models import Manifest
from agent.render import engines
from agent.render.context import Capabilities, Release
from agent.render.digest import RenderCache, tree_digest
from agent.render.documents import load_mapping
from agent.render.manifests import mark_chart_crds, parse_manifests
from agent.render.paths import read_text, walk_files

CACHE = RenderCache()
MAX_FILE = 4 * 1024 * 1024
_GO = re.compile(
    r"\{\{-?\s*(\.[A-Z$]|\$|end\s*-?\}\}|define\s|template\s|include\s+\"|if\s|range\s|with\s|/\*)"
)
_JINJA = re.compile(r"\{%|\{\{-?\s*(values|release|chart|capabilities)\.")
_LOOKUP = re.compile(r"\{\{[^}]*\blookup\b")
_SOURCE = re.compile(r"^# Source: (.+)$", re.M)


def chart_meta(folder: Path, shown: str) -> dict[str, Any]:
    """The chart's ``Chart.yaml``."""
    where = f"{shown}/Chart.yaml"
    return load_mapping(read_text(folder / "Chart.yaml", where, MAX_FILE), where, "Chart.yaml")


def is_go_chart(folder: Path, shown: str) -> bool:
    """Whether the chart's templates are Go templates (else Jinja)."""
    templates = folder / "templates"
    if not templates.is_dir():
        return chart_meta(folder, shown).get("apiVersion") == "v1"
    go = False
    for rel, real in walk_files(templates, f"{shown}/templates", boundary=folder, scope="chart"):
        text = read_text(real, f"{shown}/templates/{rel}", MAX_FILE)
        if _JINJA.search(text):
            return False
        go = go or bool(_GO.search(text))
    return go


@dataclass(frozen=True)
class HelmOut:
    manifests: list[Manifest]
    notes: str
    crds: int
    inputs: dict[str, Any] = field(default_factory=dict)


def render_chart(
    folder: Path,
    repo: Path,
    shown: str,
    *,
    layers: Sequence[Mapping[str, Any]],
    release: Release,
    caps: Capabilities,
    dependencies: Mapping[str, Path] | None = None,
) -> HelmOut:
    """``helm template`` of the chart in ``folder`` (inside ``repo``);
    ``dependencies``: its dependencies from chart repositories, pulled
    (name -> folder), copied into ``charts/`` where it has none of that name."""
    pulled = dict(dependencies or {})
    meta = chart_meta(folder, shown)
    try:
        engine = engines.helm()
    except RenderFailed as e:
        raise RenderFailed(f"{shown}: {e}") from None
    options = [
        "--namespace",
        release.namespace,
        "--kube-version",
        caps.kube_version.version,
        "--include-crds",
    ]
    api = sorted(set(caps.api_versions))
    if api:
        options += ["--api-versions", ",".join(api)]
    if not release.is_install:
        options.append("--is-upgrade")
    encoded = [json.dumps(layer, sort_keys=True, default=str) for layer in layers]
    sources = _sources(folder, repo, shown, set())
    extra = [f"{name}={tree_digest([path], path.parent, shown)}" for name, path in sorted(pulled.items())]
    digest = tree_digest(sources, repo, shown, (engine.label, release.name, *options, *encoded, *extra))
    text = CACHE.get(digest)
    if text is None:
        with tempfile.TemporaryDirectory(prefix="gitops-agent-helm-") as tmp:
            work = Path(tmp)
            _assemble(folder, repo, work / "chart", shown, set(), pulled)
            args = [release.name, str(work / "chart"), *options]
            for i, layer in enumerate(encoded):
                (work / f"values-{i}.json").write_text(layer)
                args += ["-f", str(work / f"values-{i}.json")]
            text = engines.run(engine, args, work, shown)
        CACHE.put(digest, text)
    manifests, crds = _split(text, shown, str(meta.get("name", "")))
    inputs = {
        "renderer": "helm",
        "engine": engine.label,
        "chart": str(meta.get("name", "")),
        "version": str(meta.get("version", "")),
        "digest": digest,
        "capabilities": {"kubeVersion": caps.kube_version.version, "apiVersions": len(api)},
    }
    return HelmOut(manifests, "", crds, inputs)


def _split(text: str, shown: str, chart: str) -> tuple[list[Manifest], int]:
    """Helm's stream, split by its ``# Source:`` comments: CRDs of the
    ``crds/`` folders first (marked as the Jinja charts' are), then the rest."""
    crds: list[Manifest] = []
    rest: list[Manifest] = []
    for doc in re.split(r"^---\s*$", text, flags=re.M):
        if not doc.strip():
            continue
        m = _SOURCE.search(doc)
        source = f"{shown}: {m.group(1)}" if m else shown
        parsed = parse_manifests(doc, source, rendered=True)
        if m and "/crds/" in f"/{m.group(1)}":
            crds.extend(mark_chart_crds(parsed, chart))
        else:
            rest.extend(parsed)
    return [*crds, *rest], len(crds)


def _sources(src: Path, repo: Path, shown: str, stack: set[Path]) -> list[Path]:
    """The chart's folder and those of its ``file://`` dependencies: every
    file a render reads (the cache's key)."""
    real = src.resolve()
    if real in stack:
        raise RenderFailed(f"{shown}: chart dependencies form a circle through {real.name}")
    out = [real]
    for dep in chart_meta(src, shown).get("dependencies") or ():
        where = str(dep.get("repository", "")) if isinstance(dep, dict) else ""
        if where.startswith("file://"):
            sub = (src / where.removeprefix("file://")).resolve()
            if sub.is_relative_to(repo) and (sub / "Chart.yaml").is_file():
                out += _sources(sub, repo, f"{shown}/charts/{dep.get('name', '')}", stack | {real})
    return out


def _assemble(  # noqa: PLR0917 - the copy's source, bounds and destination
    src: Path, repo: Path, dest: Path, shown: str, stack: set[Path], pulled: Mapping[str, Path] | None = None
) -> None:
    """Copy the chart to ``dest`` (symlinks out of the repository refused),
    refusing ``lookup``, and copy in its ``file://`` dependencies."""
    real = src.resolve()
    meta = chart_meta(src, shown)
    if real in stack:
        raise RenderFailed(f"{shown}: chart dependencies form a circle through {real.name}")
    for rel, path in walk_files(src, shown, boundary=repo, scope="repository"):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel.startswith("templates/") and path.suffix in (".yaml", ".yml", ".tpl", ".txt", ".json"):
            text = read_text(path, f"{shown}/{rel}", MAX_FILE)
            if (hit := _LOOKUP.search(text)) is not None:
                line = text.count("\n", 0, hit.start()) + 1
                raise RenderFailed(
                    f"{shown}/{rel}:{line}: lookup is refused: a render reads no cluster "
                    "(set the value the template looks up instead)"
                )
        shutil.copyfile(path, target)
    for dep in meta.get("dependencies") or ():
        if not isinstance(dep, dict):
            continue
        name, where = str(dep.get("name", "")), str(dep.get("repository", ""))
        present = (dest / "charts" / name).exists() or any((dest / "charts").glob(f"{name}-*.tgz"))
        if present:
            continue
        if where.startswith("file://"):
            sub = (src / where.removeprefix("file://")).resolve()
            if not sub.is_relative_to(repo):
                raise RenderFailed(
                    f"{shown}/Chart.yaml: dependency {name}: {where} leaves the repository; refused"
                )
            _assemble(sub, repo, dest / "charts" / name, f"{shown}/charts/{name}", stack | {real})
        elif pulled and name in pulled:
            shutil.copytree(pulled[name], dest / "charts" / name)
        elif where:
            raise RenderFailed(
                f"{shown}/Chart.yaml: dependency {name} from {where} is not in charts/: "
                "vendor it (helm dependency build) and commit charts/"
            )
