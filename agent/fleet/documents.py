"""``Application`` and ``AppSet`` documents: app definitions written in Git.

An app whose render holds documents of ``apiVersion:
gitops-agent.io/v1alpha1`` declares the apps they define (Argo CD's
app-of-apps, where the parent's manifests are ``Application`` resources).
The document's ``spec`` is an ``apps:`` entry of ``agent.yaml`` without its
name (``metadata.name``) and labels (``metadata.labels``); ``spec.repo`` and
``spec.revision`` default to the parent's, so a monorepo's apps name only
their path.  An error names the document (file and position) and the
field, as the configuration's errors do.

Nothing here reads the environment: ``${VAR}`` in a document is text (a
repository must not reach the agent's secrets).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from agent.config import Application, AppSet, _loc, _message
from agent.errors import ConfigError
from agent.models import Manifest

FLEET_API_VERSION = "gitops-agent.io/v1alpha1"
_METADATA = {"name", "namespace", "labels", "annotations"}


@dataclass(frozen=True)
class DeclaredAppSet:
    """An AppSet with where it comes from: ``where`` names it in messages;
    ``repo`` and ``revision`` are the repository its git generators and
    its apps read when they name none (the parent's, for a document)."""

    app_set: AppSet
    where: str
    repo: str | None = None
    revision: str = "HEAD"


@dataclass(frozen=True)
class Definitions:
    """What a parent's render declares."""

    apps: tuple[Application, ...] = ()
    app_sets: tuple[DeclaredAppSet, ...] = ()


def describe(m: Manifest) -> str:
    """``file (document N)``, as the render's errors name a document."""
    return f"{m.source} (document {m.index + 1})"


def invalid(where: str, error: ValidationError, prefix: str = "") -> ConfigError:
    """One error naming ``where`` and each field, as ``agent.yaml``'s errors do."""
    lines = []
    for err in error.errors():
        loc = _loc(tuple(err["loc"]))
        field = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
        lines.append(f"{field}: {_message(err)}" if field else _message(err))
    return ConfigError(f"{where}: " + "; ".join(lines))


def application(
    name: Any,
    labels: Any,
    spec: Any,
    where: str,
    *,
    repo: str | None,
    revision: str,
    prefix: str = "spec",
) -> Application:
    """An :class:`Application` from a name, labels and a spec (an ``apps:``
    entry without ``name`` and ``labels``), ``repo`` and ``revision`` as the
    defaults of the spec's own."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: {prefix}: must be a mapping (the app's fields: path, destination ...)")
    for own in ("name", "labels"):
        if own in spec:
            raise ConfigError(f"{where}: {prefix}.{own}: unknown field (the app's {own} is metadata.{own})")
    data: dict[str, Any] = {"name": name, "labels": labels or {}, **spec}
    if repo is not None:
        data.setdefault("repo", repo)
    data.setdefault("revision", revision)
    try:
        return Application.model_validate(data)
    except ValidationError as e:
        raise _named(where, e, prefix) from None


def _named(where: str, e: ValidationError, prefix: str) -> ConfigError:
    """Field errors of the app's name and labels named where they are written."""
    lines = []
    for err in e.errors():
        loc = tuple(err["loc"])
        shown = f"metadata.{_loc(loc)}" if loc and loc[0] in ("name", "labels") else f"{prefix}.{_loc(loc)}"
        lines.append(f"{shown.rstrip('.')}: {_message(err)}")
    return ConfigError(f"{where}: " + "; ".join(lines))


def _metadata(obj: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping) or not meta.get("name"):
        raise ConfigError(f"{where}: metadata.name: required field is missing")
    unknown = sorted(set(meta) - _METADATA)
    if unknown:
        raise ConfigError(f"{where}: metadata.{unknown[0]}: unknown field")
    if meta.get("labels") is not None and not isinstance(meta.get("labels"), Mapping):
        raise ConfigError(f"{where}: metadata.labels: must be a mapping of strings")
    return meta


def _check_top(obj: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(obj) - {"apiVersion", "kind", "metadata", "spec"})
    if unknown:
        raise ConfigError(f"{where}: {unknown[0]}: unknown field")


def read_application(m: Manifest, parent: Application) -> Application:
    """An ``Application`` document as an app; repo and revision default to ``parent``'s."""
    where = f"{describe(m)}: Application"
    _check_top(m.obj, where)
    meta = _metadata(m.obj, where)
    where = f"{where} {meta['name']}"
    return application(
        meta["name"], meta.get("labels"), m.obj.get("spec"), where, repo=parent.repo, revision=parent.revision
    )


def read_app_set(m: Manifest, parent: Application) -> DeclaredAppSet:
    """An ``AppSet`` document; its git generators and apps default to ``parent``'s repository."""
    where = f"{describe(m)}: AppSet"
    _check_top(m.obj, where)
    meta = _metadata(m.obj, where)
    where = f"{where} {meta['name']}"
    spec = m.obj.get("spec")
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: spec: required field is missing (generators, template)")
    try:
        found = AppSet.model_validate({"name": meta["name"], "spec": spec})
    except ValidationError as e:
        raise invalid(where, e) from None
    return DeclaredAppSet(found, where, parent.repo, parent.revision)


def read_definitions(manifests: Sequence[Manifest], parent: Application) -> Definitions:
    """Every app and AppSet the documents define; the first bad one raises
    (a parent with one bad document declares nothing new: its apps as they
    were are kept by the resolver)."""
    apps: list[Application] = []
    sets: list[DeclaredAppSet] = []
    for m in manifests:
        if m.obj.get("apiVersion") != FLEET_API_VERSION:
            continue
        if m.obj.get("kind") == "Application":
            apps.append(read_application(m, parent))
        elif m.obj.get("kind") == "AppSet":
            sets.append(read_app_set(m, parent))
    return Definitions(tuple(apps), tuple(sets))


def inline_app_sets(app_sets: Sequence[AppSet]) -> tuple[DeclaredAppSet, ...]:
    """``agent.yaml``'s ``appSets:``, named as the file names them."""
    return tuple(DeclaredAppSet(s, f"appSets[{i}] ({s.name})") for i, s in enumerate(app_sets))


__all__ = [
    "FLEET_API_VERSION",
    "DeclaredAppSet",
    "Definitions",
    "application",
    "describe",
    "inline_app_sets",
    "invalid",
    "read_app_set",
    "read_application",
    "read_definitions",
]
