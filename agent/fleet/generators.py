"""AppSet generators: parameter sets, and the apps a template makes of them.

As Argo CD's ApplicationSet: a generator yields one set of parameters per
app, and the AppSet's template (Jinja in its strings, in the sandbox our
charts run in, with ``StrictUndefined``) turns each into an app.  The
parameters are named as Argo names them:

* ``list``: the keys of each element;
* ``gitDirectories``: ``path.path``, ``path.basename``,
  ``path.basenameNormalized``, ``path.segments`` of each folder matching
  one of the globs (``*`` within one folder level, ``**`` across levels)
  and none of ``exclude``;
* ``gitFiles``: the keys of each YAML or JSON file matching a glob (a
  mapping; a list of mappings is one set per item), with ``path.*`` of the
  file's folder and ``path.filename``;
* ``clusters``: ``cluster.name`` and ``cluster.labels`` of each configured
  cluster whose labels include ``selector``;
* ``matrix``: every pair of the two generators' sets, merged.

(Argo CD's generators: https://argo-cd.readthedocs.io/en/stable/operator-manual/applicationset/Generators/;
its git generators' ``path`` parameters are the ones above.)

A generator that cannot read its repository raises
:class:`GeneratorFailed`; what that means for the apps it made before is
:mod:`agent.fleet.budget`'s to decide (nothing is removed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.config import Application, ClusterConfig
from agent.config.fleet import AppTemplate, Generator
from agent.errors import AgentError, ConfigError
from agent.fleet.documents import DeclaredAppSet, application
from agent.render import limits
from agent.render.documents import load_documents
from agent.render.paths import read_text, walk_files

if TYPE_CHECKING:
    import jinja2

Params = dict[str, Any]
Checkout = Callable[[str, str], Path]  # (repository, revision) -> the checkout's root
MAX_FILE_BYTES = 1024 * 1024


class GeneratorFailed(ConfigError):
    """A generator could not say which apps there are (its repository, a file)."""


def _glob(pattern: str) -> re.Pattern[str]:
    """A path glob: ``*`` and ``?`` within one level, ``**`` across levels."""
    out, i = "", 0
    pattern = pattern.strip("/")
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(f"^{out}$")


def matches(path: str, include: Sequence[str], exclude: Sequence[str] = ()) -> bool:
    """Whether ``path`` matches one of ``include`` and none of ``exclude``."""
    return any(_glob(p).match(path) for p in include) and not any(_glob(p).match(path) for p in exclude)


def path_params(folder: str) -> Params:
    """``path.*`` of a folder of the repository."""
    segments = [s for s in folder.split("/") if s and s != "."]
    base = segments[-1] if segments else ""
    return {
        "path": {
            "path": folder,
            "basename": base,
            "basenameNormalized": re.sub(r"[^a-z0-9-]", "-", base.lower()),
            "segments": segments,
        }
    }


def _files(root: Path, shown: str) -> list[str]:
    try:
        return [rel for rel, _ in walk_files(root, shown, scope="repository")]
    except AgentError as e:
        raise GeneratorFailed(str(e)) from None


def git_directories(root: Path, include: Sequence[str], exclude: Sequence[str], shown: str) -> list[Params]:
    """One set per folder of the checkout at ``root`` the globs select."""
    folders: set[str] = set()
    for rel in _files(root, shown):
        parts = rel.split("/")[:-1]
        folders.update("/".join(parts[: n + 1]) for n in range(len(parts)))
    return [path_params(f) for f in sorted(folders) if matches(f, include, exclude)]


def git_files(root: Path, include: Sequence[str], exclude: Sequence[str], shown: str) -> list[Params]:
    """One set per mapping in each file of the checkout the globs select."""
    out: list[Params] = []
    for rel in _files(root, shown):
        if not rel.endswith((".yaml", ".yml", ".json")) or not matches(rel, include, exclude):
            continue
        where = f"{shown}/{rel}"
        try:
            docs = [d for d in load_documents(read_text(root / rel, where, MAX_FILE_BYTES), where) if d]
        except AgentError as e:
            raise GeneratorFailed(str(e)) from None
        items = [i for d in docs for i in (d if isinstance(d, list) else [d])]
        if any(not isinstance(i, Mapping) for i in items):
            raise GeneratorFailed(f"{where}: a gitFiles generator's file holds a mapping (or a list of them)")
        folder = rel.rpartition("/")[0] or "."
        for item in items:
            params = {**item, **path_params(folder)}
            params["path"] = {**params["path"], "filename": rel.rpartition("/")[2]}
            out.append(params)
    return out


def clusters(all_clusters: Sequence[ClusterConfig], selector: Mapping[str, str]) -> list[Params]:
    """One set per cluster whose labels include ``selector``."""
    return [
        {"cluster": {"name": c.name, "labels": dict(c.labels)}}
        for c in all_clusters
        if all(c.labels.get(k) == v for k, v in selector.items())
    ]


class Generating:
    """What generators read: checkouts, the configured clusters, the defaults."""

    def __init__(self, checkout: Checkout, all_clusters: Sequence[ClusterConfig], declared: DeclaredAppSet):
        self.checkout = checkout
        self.all_clusters = all_clusters
        self.declared = declared

    def _root(self, repo: str | None, revision: str | None) -> tuple[Path, str]:
        repo = repo or self.declared.repo
        if repo is None:
            raise GeneratorFailed(f"{self.declared.where}: a git generator needs repo (the AppSet is inline)")
        try:
            return self.checkout(repo, revision or self.declared.revision), repo
        except AgentError as e:
            raise GeneratorFailed(f"{self.declared.where}: {repo}: {e}") from None

    def params(self, gen: Generator) -> list[Params]:
        """The parameter sets of one generator."""
        if gen.list is not None:
            return [dict(e) for e in gen.list.elements]
        if gen.git_directories is not None:
            g = gen.git_directories
            root, repo = self._root(g.repo, g.revision)
            return git_directories(root, g.directories, g.exclude, repo)
        if gen.git_files is not None:
            f = gen.git_files
            root, repo = self._root(f.repo, f.revision)
            return git_files(root, f.files, f.exclude, repo)
        if gen.clusters is not None:
            return clusters(self.all_clusters, gen.clusters.selector)
        if gen.matrix is None:  # the model holds exactly one kind
            raise ConfigError(f"{self.declared.where}: an empty generator")
        first, second = (self.params(g) for g in gen.matrix.generators)
        return [_merge(a, b) for a in first for b in second]


def _merge(a: Params, b: Params) -> Params:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


def default_source(generators: Sequence[Generator]) -> tuple[str | None, str | None]:
    """The repository and revision of the first git generator (an inline
    AppSet's apps read it when their template names none)."""
    for gen in generators:
        git = gen.git_directories or gen.git_files
        if git is not None and git.repo is not None:
            return git.repo, git.revision
        if gen.matrix is not None:
            found = default_source(gen.matrix.generators)
            if found[0] is not None:
                return found
    return None, None


# -- templates --------------------------------------------------------------------
@cache
def _environment() -> jinja2.Environment:
    from agent.render import filters  # noqa: PLC0415 - the chart toolbox loads with the first AppSet
    from agent.render.sandbox import ChartEnvironment, ChartLoader  # noqa: PLC0415

    env = ChartEnvironment(ChartLoader(Path("/nonexistent"), "appset", ()))
    filters.install(env)
    return env


def _render(value: Any, params: Params, field: str, problem: Callable[[str, str], ConfigError]) -> Any:
    if isinstance(value, Mapping):
        return {k: _render(v, params, f"{field}.{k}", problem) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, params, f"{field}[{i}]", problem) for i, v in enumerate(value)]
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return value
    import jinja2  # noqa: PLC0415 - loaded by the first template (commands over plain YAML never need it)

    try:
        with limits.budget(limits.DEFAULT_LIMITS):
            env = _environment()
            # compiled under a name, so the names the template spells out are shown in its errors
            code = env.compile(value, name=f"appset:{field}")
            return env.template_class.from_code(env, code, env.make_globals(None)).render(params)
    except jinja2.TemplateSyntaxError as e:
        raise problem(field, f"line {e.lineno}: {e.message}") from None
    except jinja2.UndefinedError as e:
        raise problem(field, str(e.message)) from None
    except AgentError as e:
        raise problem(field, str(e)) from None
    except jinja2.TemplateError as e:
        raise problem(field, str(e.message or e)) from None
    except Exception as e:  # a template error Python raised (TypeError ...): its kind only
        raise problem(field, type(e).__name__) from None


def element_label(index: int, params: Params) -> str:
    """How a generator's element is named in messages: its number and what identifies it."""
    path = params.get("path")
    cluster = params.get("cluster")
    if isinstance(path, Mapping) and path.get("path"):
        return f"element {index} (path {path['path']})"
    if isinstance(cluster, Mapping) and cluster.get("name"):
        return f"element {index} (cluster {cluster['name']})"
    return f"element {index}"


def make_app(
    template: AppTemplate,
    params: Params,
    index: int,
    declared: DeclaredAppSet,
    source: tuple[str | None, str],
) -> Application:
    """The app the template makes of one parameter set."""
    label = element_label(index, params)

    def problem(field: str, message: str) -> ConfigError:
        return ConfigError(f"{declared.where}: {label}: template {field}: {message}")

    meta = _render(template.metadata, params, "metadata", problem)
    spec = _render(template.spec, params, "spec", problem)
    if not meta.get("name"):
        raise problem("metadata.name", "required field is missing (each app's name)")
    where = f"{declared.where}: {label}: app {meta['name']}"
    return application(meta["name"], meta.get("labels"), spec, where, repo=source[0], revision=source[1])


def generate(gen: Generating) -> list[Application]:
    """Every app the AppSet makes; raises GeneratorFailed (its sources) or
    ConfigError (its template) naming the AppSet, the element and the field."""
    declared = gen.declared
    spec = declared.app_set.spec
    repo, revision = default_source(spec.generators)
    source = (declared.repo or repo, declared.revision if declared.repo else (revision or "HEAD"))
    apps: list[Application] = []
    seen: dict[str, str] = {}
    for g, generator in enumerate(spec.generators):
        for i, params in enumerate(gen.params(generator)):
            app = make_app(spec.template, params, i, declared, source)
            label = f"generator {g} {element_label(i, params)}"
            if app.name in seen:
                raise ConfigError(
                    f"{declared.where}: {label} and {seen[app.name]} both make app {app.name!r}"
                )
            seen[app.name] = label
            apps.append(app)
    return apps


def iter_generators(generators: Sequence[Generator]) -> Iterator[Generator]:
    """Every generator, a matrix's inner ones too."""
    for g in generators:
        yield g
        if g.matrix is not None:
            yield from iter_generators(g.matrix.generators)


__all__ = [
    "Checkout",
    "Generating",
    "GeneratorFailed",
    "Params",
    "clusters",
    "default_source",
    "generate",
    "git_directories",
    "git_files",
    "iter_generators",
    "make_app",
    "matches",
    "path_params",
]
