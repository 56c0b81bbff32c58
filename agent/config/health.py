"""``health:`` in ``agent.yaml``, and an app's own ``apps[].health``: the
health rules users write.

CEL rules in Flux's ``healthCheckExprs`` shape, Lua scripts keyed as Argo
CD's ``argocd-cm`` keys them (``resource.customizations.health.<group>_<Kind>``),
and a folder of ``<group>/<Kind>/health.lua`` files (Argo CD's
``resource_customizations`` layout; the core group is ``_``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from agent.config.app import LUA_KEY, AppHealth, Application, CelHealthCheck, ConfigModel
from agent.errors import ConfigError, RenderFailed
from agent.health.user import CelRule, LuaScript, UserRules

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
    if not folder.is_dir():
        raise ConfigError(f"{folder}: health.luaDir is not a folder")
    found = []
    for path in sorted(folder.glob("*/*/health.lua")):
        group = path.parent.parent.name
        try:
            source = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the health script: {exc}") from exc
        found.append(LuaScript("" if group == "_" else group, path.parent.name, source, str(path)))
    return found


def _cel(checks: list[CelHealthCheck], origin: str) -> list[CelRule]:
    return [
        CelRule(c.api_version.rpartition("/")[0], c.kind, c.current, c.in_progress, c.failed, origin)
        for c in checks
    ]


def app_rules(app: Application, root: Path | None, commit: str) -> UserRules:
    """``app``'s own rules (``apps[].health``) at ``commit``, its checkout at
    ``root``: the CEL checks of its entry, and the scripts of its ``luaDir``
    in the repository (none without a checkout).  A folder that is not
    there, a script that cannot be read or does not compile, is one
    :class:`RenderFailed` naming the file: nothing is applied with rules
    that could not be read."""
    checks = _cel(app.health.checks, f"apps[{app.name}].health.checks")
    scripts = _repository_scripts(app, root, commit) if root is not None and app.health.lua_dir else []
    rules = UserRules(checks, scripts)
    problems = UserRules(lua_scripts=scripts).problems() if scripts else []
    if problems:
        raise RenderFailed(f"{app.name}: {problems[0]} (commit {commit[:12]})")
    return rules


def _repository_scripts(app: Application, root: Path, commit: str) -> list[LuaScript]:
    shown = (app.health.lua_dir or "").strip("/")
    where = f"commit {commit[:12]}"
    folder = (root / shown).resolve()
    if not folder.is_dir() or not folder.is_relative_to(root.resolve()):
        raise RenderFailed(
            f"{app.name}: health.luaDir: {shown}/ is not a folder of the repository at {where}"
        )
    found = []
    for path in sorted(folder.glob("*/*/health.lua")):
        rel = f"{shown}/{path.relative_to(folder).as_posix()}"
        try:
            if path.stat().st_size > SCRIPT_LIMIT:
                raise RenderFailed(f"{app.name}: {rel} at {where}: over {SCRIPT_LIMIT // 1024} KiB")
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise RenderFailed(f"{app.name}: {rel} at {where}: not UTF-8 text") from None
        except OSError as exc:
            raise RenderFailed(f"{app.name}: {rel} at {where}: cannot read: {exc.strerror}") from None
        group = path.parent.parent.name
        found.append(LuaScript("" if group == "_" else group, path.parent.name, source, rel))
    return found


def user_rules(health: HealthConfig, base_dir: Path) -> UserRules:
    """The rules ``health:`` names; the config's own Lua entries win over the folder's."""
    scripts = {}
    if health.lua_dir:
        folder = Path(health.lua_dir).expanduser()
        folder = folder if folder.is_absolute() else base_dir / folder
        scripts = {(s.group, s.kind): s for s in lua_folder(folder)}
    for key, source in health.lua.items():
        group, kind = _group_kind(key)
        scripts[(group, kind)] = LuaScript(group, kind, source, f"health.lua[{key}]")
    return UserRules(_cel(health.checks, "health.checks"), scripts.values())
