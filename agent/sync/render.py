"""The render stage: an app's manifests, as the sync applies them.

:func:`render_request` is the one mapping of an :class:`Application` to its
:class:`~agent.render.RenderRequest`: the sync uses it, and so does
``gitops-agent render APP`` (with its own overrides), so what the command
prints is what a sync would apply.  :func:`render_app` renders and stamps
every object with the app's ownership marks (Argo CD's tracking label,
Flux's inventory labels play the same part).  ``Application`` and ``AppSet``
documents of :data:`FLEET_API_VERSION` in a render are the definitions of
child apps (app-of-apps), not cluster objects: they are taken out of the
manifests before anything is planned, applied or pruned, and kept beside
them (:class:`AppRender`) for :mod:`agent.fleet` to read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agent.config import AgentConfig, Application
from agent.models import Manifest
from agent.render import Capabilities, Release, RenderRequest, RenderResult, render
from agent.source import GitSource, signature_policy
from agent.source.charts import ChartPuller, ChartRef
from agent.source.settings import source_settings
from agent.sync.ownership import stamp

FLEET_API_VERSION = "gitops-agent.io/v1alpha1"
DEFINITION_KINDS = ("Application", "AppSet")


@dataclass(frozen=True)
class AppRender(RenderResult):
    """A render, with the app definitions it declares (never applied)."""

    definitions: tuple[Manifest, ...] = ()


def is_definition(obj: Mapping[str, Any]) -> bool:
    """An ``Application`` or ``AppSet`` document: a child app's definition."""
    return obj.get("apiVersion") == FLEET_API_VERSION and obj.get("kind") in DEFINITION_KINDS


def definitions_of(result: RenderResult) -> tuple[Manifest, ...]:
    """The app definitions a render declares (none for a render made elsewhere)."""
    return result.definitions if isinstance(result, AppRender) else ()


def render_request(
    app: Application,
    root: Path,
    capabilities: Capabilities | Callable[[], Capabilities] | None,
    *,
    is_install: bool = True,
    release: str | None = None,
    namespace: str | None = None,
    overrides: Sequence[Mapping[str, Any]] = (),
    validate: bool | None = None,
) -> RenderRequest:
    """What rendering ``app`` from the checkout at ``root`` asks for;
    ``release``, ``namespace``, ``overrides`` and ``validate`` replace the
    app's own (the render command's options)."""
    return RenderRequest(
        root=root,
        path=app.path,
        release=Release(
            name=release or app.name, namespace=namespace or app.namespace, is_install=is_install
        ),
        values_files=tuple(app.values_files),
        values=app.values,
        label=f"{app.name}: {app.path}",
        overrides=overrides,
        validate=app.openapi_validation if validate is None else validate,
        capabilities=capabilities,
    )


def chart_puller(cfg: AgentConfig) -> ChartPuller:
    """Where charts from chart repositories are pulled to, with the
    configuration's credentials (the same rules as Git's)."""
    settings = source_settings(cfg)
    return ChartPuller(
        cfg.resolve(cfg.state_dir) / "charts",
        settings.credentials,
        settings.timeout,
        allow_http=settings.policy.allows("http"),
    )


def with_chart(req: RenderRequest, app: Application, puller: Callable[[], ChartPuller]) -> RenderRequest:
    """``req`` with the app's chart from its chart repository, pulled (or
    found in the cache); unchanged for an app without ``chart``."""
    if app.chart is None:
        return req
    c = app.chart
    pulled = puller().pull(ChartRef(c.repo, c.name, c.version, c.plain_http))
    source = {"chartRepository": pulled.url, "version": pulled.version, "chartDigest": pulled.digest}
    return replace(req, chart=pulled.folder, chart_source=source)


def with_dependencies(req: RenderRequest, puller: Callable[[], ChartPuller]) -> RenderRequest:
    """``req`` with the dependencies its Helm chart takes from chart
    repositories (``repository: https://...`` or ``oci://...``) and does
    not vendor in ``charts/``, pulled as ``helm dependency build`` would: at
    the version ``Chart.lock`` records, else the newest that meets the
    constraint of ``Chart.yaml``."""
    from agent.render import renderer_of  # noqa: PLC0415

    shown = req.label or req.path
    folder = req.chart if req.chart is not None else (req.root / req.path).resolve()
    if not (folder / "Chart.yaml").is_file():
        return req
    inside = folder.is_relative_to(req.root.resolve())
    if req.chart is None and (not inside or renderer_of(folder, shown) != "helm"):
        return req
    pulled: dict[str, Path] = {}
    named: list[str] = []
    for name, where, version in _remote_dependencies(folder, shown):
        if name not in pulled:
            got = puller().pull(ChartRef(where, name, version))
            pulled[name] = got.folder
            named.append(f"{name} {got.version} {got.digest}")
    if not pulled:
        return req
    source = {**req.chart_source, "dependencies": ", ".join(named)}
    return replace(req, dependencies=pulled, chart_source=source)


def _remote_dependencies(folder: Path, shown: str) -> list[tuple[str, str, str]]:
    """(name, repository, version) of each dependency from a chart
    repository that ``charts/`` does not hold."""
    from agent.render.documents import load_mapping  # noqa: PLC0415
    from agent.render.helm import chart_meta  # noqa: PLC0415

    lock_file = folder / "Chart.lock"
    lock = (
        load_mapping(lock_file.read_text(), f"{shown}/Chart.lock", "Chart.lock")
        if lock_file.is_file()
        else {}
    )
    locked = {
        str(d.get("name")): str(d.get("version"))
        for d in lock.get("dependencies") or ()
        if isinstance(d, dict)
    }
    out: list[tuple[str, str, str]] = []
    for dep in chart_meta(folder, shown).get("dependencies") or ():
        if not isinstance(dep, dict):
            continue
        name, where = str(dep.get("name", "")), str(dep.get("repository", ""))
        vendored = (folder / "charts" / name).exists() or any((folder / "charts").glob(f"{name}-*.tgz"))
        if re.match(r"^(https?|oci)://", where) and not vendored:
            out.append((name, where.rstrip("/"), locked.get(name) or str(dep.get("version") or "*")))
    return out


def render_app(
    app: Application,
    root: Path,
    owner: str,
    capabilities: Capabilities | Callable[[], Capabilities],
    *,
    is_install: bool = True,
    scope: Callable[[str, str], bool | None] | None = None,
    charts: Callable[[], ChartPuller] | None = None,
) -> RenderResult:
    """Render the app and stamp every object with its ownership marks
    (``owner``: the app's owner id; ``capabilities``: the cluster's, or how
    to get them when a template asks)."""
    req = replace(render_request(app, root, capabilities, is_install=is_install), scope=scope)
    if app.chart is not None:
        if charts is None:
            raise ValueError("an app with a chart needs a chart puller")
        req = with_chart(req, app, charts)
    if charts is not None:
        req = with_dependencies(req, charts)
    result = render(req)
    objects = [m for m in result.manifests if not is_definition(m.obj)]
    stamped = tuple(Manifest(stamp(m.obj, app.name, owner), m.source, m.index) for m in objects)
    definitions = tuple(m for m in result.manifests if is_definition(m.obj))
    crds = sum(1 for m in result.manifests[: result.crds] if not is_definition(m.obj))
    return AppRender(stamped, result.chart, result.notes, crds, result.inputs, definitions)


def target_request(
    target: str,
    load: Callable[[], AgentConfig],
    revision: str | None,
    *,
    release: str | None,
    namespace: str | None,
    validate: bool | None,
) -> RenderRequest:
    """What ``gitops-agent render TARGET`` renders: a folder in its work
    tree, or an app of the configuration ``load`` reads, as a sync renders it
    (from its source at ``revision``)."""
    if Path(target).is_dir():
        return RenderRequest.for_folder(target, release, namespace, validate)
    cfg = load()
    app = cfg.app(target)
    checkout = GitSource.from_config(cfg).checkout(
        cfg.repo_location(app), revision or app.revision, verify=signature_policy(cfg, app)
    )
    req = render_request(app, checkout.root, None, release=release, namespace=namespace, validate=validate)
    return with_dependencies(with_chart(req, app, lambda: chart_puller(cfg)), lambda: chart_puller(cfg))
