"""The render stage: a folder of a checkout in, manifests out.

Every renderer gives the same :class:`RenderResult` (manifests, notes and
the inputs that decided the render), so diff, sync, records and reports do
not care which ran (:func:`renderer_of` picks it):

* a folder with ``Chart.yaml`` and Jinja templates is one of our charts
  (:mod:`agent.render.chart`, :mod:`agent.render.templates`);
* one with Go templates is a Helm chart, rendered by ``helm template``
  (:mod:`agent.render.helm`), as is a chart pulled from a chart repository;
* a folder with a kustomization renders through ``kustomize build``
  (:mod:`agent.render.kustomize`);
* any other folder is plain YAML, read recursively (``.yaml``, ``.yml``,
  ``.json``) in path order.

A chart folder with a kustomization is post-rendered by it.  The objects are
then checked (:mod:`agent.render.manifests`), given the app's namespace where
they are namespaced and have none (never where they are cluster-scoped), and
validated against the Kubernetes OpenAPI schemas (:mod:`agent.render.openapi`)
unless the app turns that off.  Nothing here touches git, a cluster, the
network, the clock or the environment; Kustomize and Helm run as processes
(:mod:`agent.render.engines`, the one exception) that read the checkout only:
the same inputs always give the same manifests, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import RenderFailed
from agent.models import Manifest
from agent.render import kustomize, limits, openapi
from agent.render.context import Capabilities, Release
from agent.render.kustomize import kustomization_file
from agent.render.limits import DEFAULT_LIMITS, Limits
from agent.render.manifests import finalize, parse_manifests, to_yaml_stream
from agent.render.paths import inside, read_text, walk_files
from agent.render.values import deep_merge, load_values_file, parse_set

if TYPE_CHECKING:
    from agent.render.worker import ChartOutput

PLAIN_SUFFIXES = (".yaml", ".yml", ".json")

__all__ = [
    "Capabilities",
    "Limits",
    "Release",
    "RenderRequest",
    "RenderResult",
    "deep_merge",
    "load_values_file",
    "parse_set",
    "render",
    "to_yaml_stream",
]


@lru_cache(maxsize=1)
def _default_capabilities() -> Capabilities:
    return Capabilities.default()


@dataclass(frozen=True)
class RenderRequest:
    root: Path  # the repository checkout
    path: str  # folder inside it
    release: Release
    values_files: Sequence[str] = ()  # relative to the app folder, inside the repository
    values: Mapping[str, Any] = field(default_factory=dict)  # the app's inline values
    label: str = ""  # how to name the folder in messages (default: path)
    overrides: Sequence[Mapping[str, Any]] = ()  # over everything, in order (--values, --set)
    # the target cluster (default: Capabilities.default()); a callable is asked only when
    # something needs them (a chart's templates, the schema version of the check), so the
    # question to the cluster can run while plain YAML is parsed
    capabilities: Capabilities | Callable[[], Capabilities] | None = None
    validate: bool = True  # check objects against the Kubernetes OpenAPI schemas
    limits: Limits = DEFAULT_LIMITS
    # the scope of kinds neither built in nor declared by a CRD of the render:
    # (apiVersion, kind) -> namespaced, or None when unknown (the cluster's discovery)
    scope: Callable[[str, str], bool | None] | None = None
    # a Helm chart pulled from a chart repository (its unpacked folder) and what
    # names it (url, version, digest); the app's folder then holds values files only
    chart: Path | None = None
    chart_source: Mapping[str, str] = field(default_factory=dict)
    # a Helm chart's dependencies from chart repositories, pulled: name -> unpacked folder
    dependencies: Mapping[str, Path] = field(default_factory=dict)

    @classmethod
    def for_folder(
        cls, target: str, release: str | None, namespace: str | None, validate: bool | None
    ) -> RenderRequest:
        """A chart or YAML folder on disk, outside any app (``gitops-agent
        render FOLDER``): rendered inside its work tree (the nearest parent
        with a ``.git``), so ``repository: file://../common`` reaches a
        sibling chart; the folder alone when it is in no work tree."""
        real = Path(target).resolve()
        root = next((c for c in (real, *real.parents) if (c / ".git").exists()), real)
        return cls(
            root=root,
            path=real.relative_to(root).as_posix() or ".",
            label=target.rstrip("/") or target,
            release=Release(release or real.name, namespace or "default"),
            validate=True if validate is None else validate,
        )


@dataclass(frozen=True)
class RenderResult:
    manifests: tuple[Manifest, ...]  # a chart's crds/ first, then the templates' objects
    chart: bool
    notes: str = ""  # the top chart's rendered NOTES.txt
    crds: int = 0  # how many of the first manifests come from crds/ folders
    # what decided the render, as revision records keep it: the renderer and its
    # engine's version, the chart's name/version/digest or the Kustomize tree's digest
    inputs: Mapping[str, Any] = field(default_factory=dict)


def render(req: RenderRequest) -> RenderResult:
    shown = req.label or req.path
    repo = req.root.resolve()
    folder = inside(repo, req.path, "path", shown)
    if not folder.is_dir():
        raise RenderFailed(f"{shown}: folder not found in the repository at this revision")

    def capabilities() -> Capabilities:
        given = req.capabilities
        if given is None:
            return _default_capabilities()
        return given if isinstance(given, Capabilities) else given()

    with limits.budget(req.limits):
        kind = "helm" if req.chart is not None else renderer_of(folder, shown)
        post = kind in ("jinja", "helm") and kustomization_file(folder) is not None
        if kind == "jinja":
            manifests, notes, crds, inputs = _jinja(req, folder, repo, shown, capabilities())
        elif kind == "helm":
            from agent.render.helm import render_chart  # noqa: PLC0415

            layers = _layers(req, folder, repo, shown)
            chart, within = (req.chart, req.chart.parent) if req.chart is not None else (folder, repo)
            out = render_chart(
                chart,
                within,
                shown,
                layers=layers,
                release=req.release,
                caps=capabilities(),
                dependencies=req.dependencies,
            )
            manifests, notes, crds, inputs = (
                out.manifests,
                out.notes,
                out.crds,
                {**out.inputs, **req.chart_source},
            )
        else:
            if req.values_files or req.values or any(req.overrides):
                raise RenderFailed(f"{shown}: values are set but the folder is not a chart (no Chart.yaml)")
            notes, crds = "", 0
            if kind == "kustomize":
                built = kustomize.build(folder, repo, shown)
                manifests = parse_manifests(built.text, f"{shown} (kustomize build)")
                inputs = {"renderer": "kustomize", "engine": built.engine, "digest": built.digest}
            else:
                manifests, inputs = _plain(folder, shown), {"renderer": "plain"}
        if post:
            built = kustomize.post_render(folder, repo, shown, to_yaml_stream(manifests[crds:]))
            manifests = [*manifests[:crds], *parse_manifests(built.text, f"{shown} (kustomize post-render)")]
            inputs = {**inputs, "postRender": {"engine": built.engine, "digest": built.digest}}
        manifests = finalize(manifests, req.release.namespace, ask=req.scope)
        if req.validate:
            openapi.validate(manifests, capabilities().kube_version.version)
    return RenderResult(tuple(manifests), kind in ("jinja", "helm"), notes, crds, inputs)


def renderer_of(folder: Path, shown: str) -> str:
    """Which renderer a folder needs: ``jinja`` or ``helm`` (a ``Chart.yaml``,
    told apart by its templates), ``kustomize`` (a kustomization file) or
    ``plain`` YAML."""
    if (folder / "Chart.yaml").is_file():
        from agent.render.helm import is_go_chart  # noqa: PLC0415

        return "helm" if is_go_chart(folder, shown) else "jinja"
    if kustomization_file(folder) is not None:
        return "kustomize"
    return "plain"


def _layers(req: RenderRequest, folder: Path, repo: Path, shown: str) -> list[Mapping[str, Any]]:
    """The values of a chart's render, lowest first: the app's values files,
    its inline values, then the overrides (``--values``, ``--set``)."""
    layers: list[Mapping[str, Any]] = []
    for name in req.values_files:
        path = (folder / name).resolve()
        if not path.is_relative_to(repo):
            raise RenderFailed(f"{shown}: values file {name!r} leaves the repository; refused")
        layers.append(load_values_file(path, f"{shown}/{name}"))
    layers.append(req.values)
    layers.extend(req.overrides)
    return layers


def _jinja(
    req: RenderRequest, folder: Path, repo: Path, shown: str, caps: Capabilities
) -> tuple[list[Manifest], str, int, dict[str, Any]]:
    from agent.render.chart import load_chart_meta  # noqa: PLC0415

    meta = load_chart_meta(folder, shown)
    out = _chart(folder, shown, repo, _layers(req, folder, repo, shown), req=req, capabilities=caps)
    inputs = {
        "renderer": "jinja",
        "chart": str(meta.get("name", "")),
        "version": str(meta.get("version", "")),
        "capabilities": {"kubeVersion": caps.kube_version.version},
    }
    return [*out.crds, *out.manifests], out.notes, len(out.crds), inputs


def _chart(
    folder: Path,
    shown: str,
    repo: Path,
    layers: Sequence[Mapping[str, Any]],
    *,
    req: RenderRequest,
    capabilities: Capabilities,
) -> ChartOutput:
    """The chart's templates, rendered in a worker process that is stopped
    when the budget runs out (:mod:`agent.render.worker`)."""
    # The chart machinery (jinja2 and its sandbox, ~40 ms) loads with the first chart,
    # here, so that every worker forked from this process starts with it.
    import agent.render.templates  # noqa: F401, PLC0415
    from agent.render import worker  # noqa: PLC0415

    job = worker.ChartJob(
        folder=folder,
        shown=shown,
        repo=repo,
        layers=layers,
        release=req.release,
        kube_version=capabilities.kube_version,
        api_versions=capabilities.api_versions.known(),
        limits=req.limits,
        deadline=limits.current().deadline,
    )
    return worker.render_chart(job, capabilities)


def _plain(folder: Path, shown: str) -> list[Manifest]:
    budget = limits.current()
    out: list[Manifest] = []
    for rel, real in walk_files(folder, shown):
        if not rel.endswith(PLAIN_SUFFIXES):
            continue
        text = read_text(real, f"{shown}/{rel}", budget.limits.max_output_bytes)
        budget.add_output(len(text))
        out.extend(parse_manifests(text, f"{shown}/{rel}"))
    return out
