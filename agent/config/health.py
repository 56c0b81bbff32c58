"""``health:`` in ``agent.yaml``, and an app's own ``apps[].health``: the
health rules users write.

CEL rules in Flux's ``healthCheckExprs`` shape, Lua scripts keyed as Argo
CD's ``argocd-cm`` keys them (``resource.customizations.health.<group>_<Kind>``),
and a folder of ``<group>/<Kind>/health.lua`` and ``health.cel`` files
(Argo CD's ``resource_customizations`` layout; the core group is ``_``):
next to the config for every app, or in an app's own repository, read at
the commit being synced.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from agent.config.app import LUA_KEY, AppHealth, Application, CelHealthCheck, ConfigModel
from agent.errors import AgentError, ConfigError, RenderFailed
from agent.health.user import CelRule, LuaScript, UserRules
from agent.render.documents import load_documents

__all__ = ["LUA_KEY", "AppHealth", "CelHealthCheck", "HealthConfig", "app_rules", "lua_folder", "user_rules"]

SCRIPT_LIMIT = 1024 * 1024  # the largest health.lua read from a repository, in bytes


class HealthConfig(ConfigModel):
    checks: list[CelHealthCheck] = Field(default_factory=list)
    lua: dict[str, str] = Field(default_factory=dict)  # resource.customizations.health.<group>_<Kind>: script
    lua_dir: str | None = None  # a folder of <group>/<Kind>/health.lua, relative to the config file

    @field_validator("lua")
    @classmethod
    def _keys(cls, scripts: dict[str, str]) -> dict[str, str]:
        for key in scripts:
            if not key.startswith(LUA_KEY) or "_" not in key[len(LUA_KEY) :]:
                raise ValueError(f"{key!r}: keys are {LUA_KEY}<group>_<Kind>")
        return scripts


def _group_kind(key: str) -> tuple[str, str]:
    group, _, kind = key[len(LUA_KEY) :].rpartition("_")
    return group, kind


def lua_folder(folder: Path) -> list[LuaScript]:
    """The ``<group>/<Kind>/health.lua`` scripts under a folder (``_`` is the core group)."""
    return read_folder(folder, str(folder), ConfigError)[1]


def read_folder(folder: Path, shown: str, fail: type[AgentError]) -> tuple[list[CelRule], list[LuaScript]]:
    """The rules of a folder laid out as Argo CD's ``resource_customizations``
    (``_`` is the core group): ``<group>/<Kind>/health.lua`` scripts, and
    ``<group>/<Kind>/health.cel`` files, each a YAML mapping of Flux's
    ``current``, ``inProgress`` and ``failed`` expressions for that kind.
    Other files are left alone.  A file that cannot be read is one ``fail``
    naming it (``shown``: how the folder is named in errors)."""
    if not folder.is_dir():
        raise fail(f"{shown}: health.luaDir is not a folder")
    checks, scripts = [], []
    for path in sorted([*folder.glob("*/*/health.lua"), *folder.glob("*/*/health.cel")]):
        rel = f"{shown.rstrip('/')}/{path.relative_to(folder).as_posix()}"
        group = "" if path.parent.parent.name == "_" else path.parent.parent.name
        source = _read(path, rel, fail)
        if path.suffix == ".lua":
            scripts.append(LuaScript(group, path.parent.name, source, rel))
        else:
            checks.append(_cel_file(source, rel, group, path.parent.name, fail))
    return checks, scripts


def _read(path: Path, rel: str, fail: type[AgentError]) -> str:
    try:
        if path.stat().st_size > SCRIPT_LIMIT:
            raise fail(f"{rel}: over {SCRIPT_LIMIT // 1024} KiB")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail(f"{rel}: not UTF-8 text") from None
    except OSError as exc:
        raise fail(f"{rel}: cannot read: {exc.strerror}") from None


_CEL_KEYS = frozenset({"current", "inProgress", "failed"})


def _cel_file(source: str, rel: str, group: str, kind: str, fail: type[AgentError]) -> CelRule:
    docs = [d for d in load_documents(source, rel, error=fail) if d is not None]
    doc = docs[0] if len(docs) == 1 else None
    if not isinstance(doc, dict) or not doc.get("current") or not set(doc) <= _CEL_KEYS:
        raise fail(f"{rel}: must be one mapping of current (required), inProgress and failed CEL expressions")
    bad = [k for k, v in doc.items() if not isinstance(v, str)]
    if bad:
        raise fail(f"{rel}: {bad[0]}: must be a CEL expression (a string)")
    return CelRule(group, kind, doc["current"], doc.get("inProgress", ""), doc.get("failed", ""), rel)


def _cel(checks: list[CelHealthCheck], origin: str) -> list[CelRule]:
    return [
        CelRule(c.api_version.rpartition("/")[0], c.kind, c.current, c.in_progress, c.failed, origin)
        for c in checks
    ]


def app_rules(app: Application, root: Path | None, commit: str) -> UserRules:
    """``app``'s own rules (``apps[].health``) at ``commit``, its checkout at
    ``root``: the CEL checks of its entry, and the rules of its ``luaDir``
    in the repository (none without a checkout); the entry's own win for the
    kinds they name.  A folder that is not there, a file that cannot be read or a
    rule that does not compile is one :class:`RenderFailed` naming the file
    and the commit: nothing is applied with rules that could not be read."""
    checks = _cel(app.health.checks, f"apps[{app.name}].health.checks")
    if root is None or not app.health.lua_dir:
        return UserRules(checks)
    shown = app.health.lua_dir.strip("/")
    at = f" (commit {commit[:12]})"
    folder = (root / shown).resolve()
    if not folder.is_dir() or not folder.is_relative_to(root.resolve()):
        raise RenderFailed(f"{app.name}: health.luaDir: {shown}/ is not a folder of the repository{at}")
    try:
        from_git = UserRules(*read_folder(folder, shown, RenderFailed))
    except RenderFailed as e:
        raise RenderFailed(f"{app.name}: {e.message}{at}") from None
    problems = from_git.problems()
    if problems:
        raise RenderFailed(f"{app.name}: {problems[0]}{at}")
    return UserRules(checks).over(from_git)  # the entry's own win over the folder's


def user_rules(health: HealthConfig, base_dir: Path) -> UserRules:
    """The rules ``health:`` names; the config's own entries win over the folder's."""
    checks = _cel(health.checks, "health.checks")
    scripts = {}
    if health.lua_dir:
        folder = Path(health.lua_dir).expanduser()
        folder = folder if folder.is_absolute() else base_dir / folder
        from_folder, found = read_folder(folder, str(folder), ConfigError)
        checks = from_folder + checks  # the config's own win over the folder's
        scripts = {(s.group, s.kind): s for s in found}
    for key, source in health.lua.items():
        group, kind = _group_kind(key)
        scripts[(group, kind)] = LuaScript(group, kind, source, f"health.lua[{key}]")
    return UserRules(checks, scripts.values())
