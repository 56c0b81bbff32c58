"""The render stage: an app's manifests, as the sync applies them.

:func:`render_request` is the one mapping of an :class:`Application` to its
:class:`~agent.render.RenderRequest`: the sync uses it, and so does
``gitops-agent render APP`` (with its own overrides), so what the command
prints is what a sync would apply.  :func:`render_app` renders and stamps
every object with the app's ownership marks (Argo CD's tracking label,
Flux's inventory labels play the same part).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from agent.config import AgentConfig, Application
from agent.models import Manifest
from agent.render import Capabilities, Release, RenderRequest, RenderResult, render
from agent.source import GitSource, signature_policy
from agent.sync.ownership import stamp


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


def render_app(
    app: Application,
    root: Path,
    owner: str,
    capabilities: Capabilities | Callable[[], Capabilities],
    *,
    is_install: bool = True,
    scope: Callable[[str, str], bool | None] | None = None,
) -> RenderResult:
    """Render the app and stamp every object with its ownership marks
    (``owner``: the app's owner id; ``capabilities``: the cluster's, or how
    to get them when a template asks)."""
    result = render(replace(render_request(app, root, capabilities, is_install=is_install), scope=scope))
    stamped = tuple(Manifest(stamp(m.obj, app.name, owner), m.source, m.index) for m in result.manifests)
    return replace(result, manifests=stamped)


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
    return render_request(app, checkout.root, None, release=release, namespace=namespace, validate=validate)
