"""``health:`` in ``agent.yaml``: the health rules users write.

CEL rules in Flux's ``healthCheckExprs`` shape, Lua scripts keyed as Argo
CD's ``argocd-cm`` keys them (``resource.customizations.health.<group>_<Kind>``),
and a folder of ``<group>/<Kind>/health.lua`` files (Argo CD's
``resource_customizations`` layout; the core group is ``_``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from agent.config.app import ConfigModel
from agent.errors import ConfigError
from agent.health.user import CelRule, LuaScript, UserRules

LUA_KEY = "resource.customizations.health."


class CelHealthCheck(ConfigModel):
    """One kind's expressions, as Flux writes them in ``healthCheckExprs``."""

    api_version: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    current: str = Field(min_length=1)
    in_progress: str = ""
    failed: str = ""


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
    checks = [
        CelRule(c.api_version.rpartition("/")[0], c.kind, c.current, c.in_progress, c.failed, "health.checks")
        for c in health.checks
    ]
    return UserRules(checks, scripts.values())
