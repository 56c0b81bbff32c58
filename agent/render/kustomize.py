"""Kustomize: a folder with a ``kustomization.yaml`` renders through
``kustomize build`` (or ``kubectl kustomize``, :mod:`agent.render.engines`).

Before the engine runs, every kustomization the build would read is read
here and checked, and a refusal names the file and the line:

* remote bases and resources (``https://``, ``git@``, ``github.com/...``):
  a render reads the checkout and nothing else;
* paths (and symlinks) that leave the repository;
* ``helmCharts`` / ``helmChartInflationGenerator`` (``--enable-helm``
  runs a helm binary with the repository's arguments);
* ``generators`` / ``transformers`` / ``validators`` that are not Kustomize's
  built-in ones (``apiVersion: builtin``): exec and container KRM functions
  and Go plugins run code.

The build itself runs with ``--load-restrictor LoadRestrictionsRootOnly``
(files only from the kustomization's own folder) and without
``--enable-alpha-plugins``, ``--enable-exec`` or ``--enable-helm``, as
Argo CD runs it by default (argo-cd#7835 made the restrictor its default).
Its output is cached by the digest of every file of every folder the build
reads, plus the engine's version: a no-change poll starts no process.

``configMapGenerator`` / ``secretGenerator`` name their objects with a hash
of their content: the same files give the same names on every sync, so
they cause no drift; a changed file gives a new name, and the old object is
pruned after the new one is applied, as with Argo CD and Flux.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import RenderFailed
from agent.render import engines
from agent.render.digest import RenderCache, tree_digest
from agent.render.documents import load_documents, load_mapping
from agent.render.paths import read_text

NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MAX_FILE = 1024 * 1024
CACHE = RenderCache()

_REMOTE = re.compile(
    r"^([a-zA-Z][a-zA-Z0-9+.-]*://|git@|github\.com/|gitlab\.com/|bitbucket\.org/)|\?ref=|//"
)
_REFUSED_FIELDS = {
    "helmCharts": "Helm charts inside a kustomization (--enable-helm) are refused; "
    "render the chart as an app of its own",
    "helmChartInflationGenerator": "Helm charts inside a kustomization (--enable-helm) are refused; "
    "render the chart as an app of its own",
    "helmGlobals": "Helm charts inside a kustomization (--enable-helm) are refused",
}
_DIRS = ("resources", "bases", "components")
_FILES = ("crds", "configurations", "patchesStrategicMerge", "transformers", "generators", "validators")
_PLUGINS = ("generators", "transformers", "validators")


def kustomization_file(folder: Path) -> Path | None:
    for name in NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


@dataclass
class _Walk:
    repo: Path
    shown_root: str
    folders: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Built:
    text: str  # the build's YAML stream
    digest: str  # sha256 of every file it read and the engine's version
    engine: str  # "kustomize v5.8.1"


def build(folder: Path, repo: Path, shown: str, options: tuple[str, ...] = ()) -> Built:
    """``kustomize build`` of ``folder`` (inside ``repo``), checked and cached."""
    walk = _Walk(repo.resolve(), shown)
    check(folder.resolve(), walk, set())
    try:
        engine = engines.kustomize()
    except RenderFailed as e:
        raise RenderFailed(f"{shown}: {e}") from None
    digest = tree_digest(walk.folders, walk.repo, shown, (engine.label, *options), walk.files)
    cached = CACHE.get(digest)
    if cached is None:
        args = ["--load-restrictor", "LoadRestrictionsRootOnly", *options, "."]
        cached = engines.run(engine, args, folder, shown)
        CACHE.put(digest, cached)
    return Built(cached, digest, engine.label)


def _display(path: Path, walk: _Walk) -> str:
    """A file as messages name it: its path in the repository (under the
    render's label when the repository is the app's folder itself)."""
    if not path.is_relative_to(walk.repo):
        return str(path)
    rel = path.relative_to(walk.repo).as_posix()
    return rel if "/" in rel else f"{walk.shown_root}/{rel}"


def _line(text: str, needle: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return n
    return 1


def check(folder: Path, walk: _Walk, stack: set[Path]) -> None:
    """Read the kustomization in ``folder`` and, recursively, every one it
    names; refuse what a safe build must not do."""
    if folder in stack or folder in walk.folders:
        return
    kfile = kustomization_file(folder)
    if kfile is None:
        raise RenderFailed(f"{_display(folder, walk)}: no kustomization.yaml in this folder")
    rel = _display(kfile, walk)
    text = read_text(kfile, rel, MAX_FILE)
    doc = load_mapping(text, rel, "a kustomization")
    walk.folders.append(folder)
    for key, reason in _REFUSED_FIELDS.items():
        if key in doc:
            raise RenderFailed(f"{rel}:{_line(text, key + ':')}: {key}: {reason}")
    for key, value, needle in _references(doc):
        where = f"{rel}:{_line(text, needle)}"
        if _REMOTE.search(value):
            raise RenderFailed(
                f"{where}: {key}: remote {value!r} refused: a kustomization reads the repository only"
            )
        target = _local(folder, value, walk, where, key)
        if key in _DIRS and target.is_dir():
            check(target, walk, stack | {folder})
        elif key in _PLUGINS and target.is_file():
            _check_plugin(target, walk, where)
        elif target.is_file():
            walk.files.append(target)
    for key in _PLUGINS:
        for entry in doc.get(key) or ():
            if isinstance(entry, dict):
                _refuse_plugin(entry, f"{rel}:{_line(text, key + ':')}")


def _local(folder: Path, value: str, walk: _Walk, where: str, key: str) -> Path:
    target = (folder / value).resolve()
    if not target.is_relative_to(walk.repo):
        raise RenderFailed(f"{where}: {key}: {value!r} leaves the repository; refused")
    if not target.exists():
        raise RenderFailed(f"{where}: {key}: {value!r} not found in the repository")
    return target


def _references(doc: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(field, path, text to find its line by) of every file or folder a
    kustomization names."""
    for key in (*_DIRS, *_FILES):
        for entry in doc.get(key) or ():
            if isinstance(entry, str) and not _inline(entry):
                yield key, entry, entry
    for key in ("patches", "patchesJson6902", "replacements"):
        for entry in doc.get(key) or ():
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                yield key, entry["path"], entry["path"]
    for key in ("configMapGenerator", "secretGenerator"):
        for gen in doc.get(key) or ():
            if not isinstance(gen, dict):
                continue
            for f in gen.get("files") or ():
                if isinstance(f, str):
                    yield key, f.split("=", 1)[-1], f
            for env in [*(gen.get("envs") or ()), *([gen["env"]] if isinstance(gen.get("env"), str) else [])]:
                if isinstance(env, str):
                    yield key, env, env
    openapi = doc.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield "openapi", openapi["path"], openapi["path"]


def _inline(entry: str) -> bool:
    """An inline patch or object rather than a path."""
    return "\n" in entry or entry.lstrip().startswith(("{", "apiVersion"))


def _check_plugin(path: Path, walk: _Walk, where: str) -> None:
    rel = _display(path, walk)
    text = read_text(path, rel, MAX_FILE)
    for d in load_documents(text, rel):
        if isinstance(d, dict):
            _refuse_plugin(d, f"{rel}:{_line(text, 'apiVersion')} (named at {where})")
    walk.files.append(path)


def _refuse_plugin(obj: dict[str, Any], where: str) -> None:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if any(k in annotations for k in ("config.kubernetes.io/function", "config.k8s.io/function")):
        raise RenderFailed(f"{where}: KRM functions (exec, container, starlark) are refused: they run code")
    if obj.get("apiVersion") != "builtin":
        kind = obj.get("kind", "?")
        raise RenderFailed(
            f"{where}: plugin {obj.get('apiVersion')}/{kind} refused: only Kustomize's built-in "
            "generators and transformers (apiVersion: builtin) run"
        )


RENDERED = "__chart_output__.yaml"


def post_render(folder: Path, repo: Path, shown: str, stream: str) -> Built:
    """A chart's output through the ``kustomization.yaml`` beside its
    ``Chart.yaml`` (Flux's and Argo CD's post-renderers): the chart folder is
    copied aside with the output as one more resource, listed first.  The
    kustomization may name files of the chart folder only."""
    import shutil  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from agent.render.documents import dump_yaml  # noqa: PLC0415
    from agent.render.paths import walk_files  # noqa: PLC0415

    kfile = kustomization_file(folder)
    assert kfile is not None  # noqa: S101 - the caller found it
    rel = _display(kfile, _Walk(repo.resolve(), shown))
    doc = load_mapping(read_text(kfile, rel, MAX_FILE), rel, "a kustomization")
    with tempfile.TemporaryDirectory(prefix="gitops-agent-post-render-") as tmp:
        copy = Path(tmp).resolve()
        for name, real in walk_files(folder, shown, boundary=repo, scope="repository"):
            if name.split("/", 1)[0] in ("templates", "charts") or name == kfile.name:
                continue
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(real, copy / name)
        (copy / RENDERED).write_text(stream)
        doc["resources"] = [RENDERED, *(doc.get("resources") or ())]
        (copy / "kustomization.yaml").write_text(dump_yaml(doc))
        walk = _Walk(copy, rel)
        check(copy, walk, set())
        engine = engines.kustomize()
        digest = tree_digest(walk.folders, copy, shown, (engine.label, "post-render"), walk.files)
        cached = CACHE.get(digest)
        if cached is None:
            args = ["--load-restrictor", "LoadRestrictionsRootOnly", "."]
            cached = engines.run(engine, args, copy, f"{rel} (post-render)")
            CACHE.put(digest, cached)
    return Built(cached, digest, engine.label)
