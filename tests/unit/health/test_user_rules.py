"""User-written rules: CEL in Flux's shape and Argo CD's Lua scripts, from the
config and from a folder; they win over the built-in rules, and a broken one
gives Unknown with the error named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.config import parse_config
from agent.config.health import app_rules, user_rules
from agent.errors import ConfigError
from agent.health import assess
from agent.health.user import CelRule, LuaScript, UserRules
from agent.models import HealthStatus

LUA = Path(__file__).parent / "lua"
KEY = "resource.customizations.health."


def gadget(*conditions: dict[str, str]) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}}
    if conditions:
        obj["status"] = {"conditions": list(conditions)}
    return obj


def widget(phase: str | None) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    if phase is not None:
        obj["status"] = {"phase": phase, "conditions": [{"type": "Ready", "status": "True"}]}
    return obj


CEL = CelRule(
    "example.com",
    "Widget",
    current="status.phase == 'Running'",
    in_progress="status.phase == 'Pending'",
    failed="status.phase == 'Crashed'",
)


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("Running", HealthStatus.HEALTHY),
        ("Pending", HealthStatus.PROGRESSING),
        ("Crashed", HealthStatus.DEGRADED),
        ("Other", HealthStatus.PROGRESSING),  # no expression true yet
    ],
)
def test_cel_rule_in_fluxs_shape(phase: str, expected: HealthStatus) -> None:
    health = assess(widget(phase), UserRules([CEL]))
    assert health.status is expected
    assert health.rule == "CEL rule for example.com/Widget (config)"


def test_user_rules_take_precedence_over_the_built_in_ones() -> None:
    # Ready=True would be Healthy by the condition semantics; the user's rule says it crashed
    assert assess(widget("Crashed")).status is HealthStatus.HEALTHY
    assert assess(widget("Crashed"), UserRules([CEL])).status is HealthStatus.DEGRADED


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (CelRule("example.com", "Widget", current="status.phase =="), "current: Failed to parse"),
        (CelRule("example.com", "Widget", current="status.phase"), "current: gave str, not a bool"),
        (CelRule("example.com", "Widget", current="status.missing == 'x'"), "no such field 'missing'"),
    ],
)
def test_a_broken_cel_rule_is_unknown_with_the_error_named(rule: CelRule, words: str) -> None:
    health = assess(widget("Running"), UserRules([rule]))
    assert health.status is HealthStatus.UNKNOWN
    assert words in health.message and "example.com/Widget" in health.message


def test_lua_script_from_a_folder_decides() -> None:
    rules = UserRules(lua_scripts=[*_folder()])
    built = {"type": "Built", "status": "True"}
    failed = {"type": "Built", "status": "False", "message": "no parts"}
    assert assess(gadget(), rules).status is HealthStatus.PROGRESSING
    assert assess(gadget(built), rules).status is HealthStatus.HEALTHY
    health = assess(gadget(failed), rules)
    assert (health.status, health.message) == (HealthStatus.DEGRADED, "no parts")
    assert health.rule.startswith("Lua health script for example.com/Gadget")


def _folder() -> list[LuaScript]:
    cfg = parse_config({"health": {"luaDir": str(LUA)}}, "agent.yaml", LUA)
    return list(user_rules(cfg.health, LUA)._lua.values())


@pytest.mark.parametrize(
    ("script", "words"),
    [
        ("while true do end", "stopped after 1000000 instructions"),
        ("local t = {} while true do t[#t + 1] = string.rep('x', 4096) end", "not enough memory"),
        ("return {status = os.getenv('HOME')}", "attempt to index a nil value (global 'os')"),
        ("return {status = io.open('/etc/passwd')}", "global 'io'"),
        ("return require('socket')", "global 'require'"),
        ("return load('return 1')()", "global 'load'"),
        ("return {status = ", "unexpected symbol"),
        ("error('custom failure')", "custom failure"),
        ("return 'Healthy'", "must return a table with a status field"),
        ("return {status = 'Fine'}", "unknown status 'Fine'"),
        ("return pcall(function() while true do end end)", "global 'pcall'"),
    ],
)
def test_a_broken_or_hostile_lua_script_is_unknown_with_the_error_named(script: str, words: str) -> None:
    rules = UserRules(lua_scripts=[LuaScript("example.com", "Gadget", script)])
    health = assess(gadget(), rules)
    assert health.status is HealthStatus.UNKNOWN, health
    assert words in health.message
    # the state stays usable for the next object
    ok = UserRules(lua_scripts=[LuaScript("example.com", "Gadget", "return {status='Healthy'}")])
    assert assess(gadget(), ok).status is HealthStatus.HEALTHY


def test_config_entries_in_argo_cds_keys_win_over_the_folder(tmp_path: Path) -> None:
    script = "return {status = 'Suspended', message = 'from the config'}"
    cfg = parse_config(
        {"health": {"luaDir": str(LUA), "lua": {f"{KEY}example.com_Gadget": script}}}, "agent.yaml", tmp_path
    )
    health = assess(gadget(), user_rules(cfg.health, tmp_path))
    assert (health.status, health.message) == (HealthStatus.SUSPENDED, "from the config")


def test_bad_health_config_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="health.lua"):
        parse_config({"health": {"lua": {"Gadget": "return {}"}}}, "agent.yaml", tmp_path)
    with pytest.raises(ConfigError, match="health.luaDir: nowhere is not a folder"):
        parse_config({"health": {"luaDir": "nowhere"}}, "agent.yaml", tmp_path)


CATASTROPHIC = "string.rep('a?', 40) .. string.rep('a', 40)"


@pytest.mark.parametrize(
    "call",
    [
        f"string.find(string.rep('a', 40), {CATASTROPHIC})",
        f"string.rep('a', 40):match({CATASTROPHIC})",
        f"string.gsub(string.rep('a', 40), {CATASTROPHIC}, '')",
        f"string.gmatch(string.rep('a', 40), {CATASTROPHIC})()",
        "string.find(string.rep('a', 5000), '.-.-.-x')",
        # many calls, each cheap: the budget is per object, not per call
        "(function() local s = string.rep('a', 100) for i = 1, 1000 do s:find('a*a*') end end)()",
    ],
)
def test_a_pattern_that_backtracks_without_end_is_stopped_with_the_error_named(call: str) -> None:
    # Lua's matcher runs in C, where the instruction budget never counts: unbounded,
    # the first of these takes 2^40 steps.  The sandbox refuses it before it starts.
    script = f"local x = {call}\nreturn {{status = 'Healthy'}}"
    health = assess(gadget(), UserRules(lua_scripts=[LuaScript("example.com", "Gadget", script, "p.lua")]))
    assert health.status is HealthStatus.UNKNOWN, health
    assert "p.lua:1: string." in health.message
    assert "over the budget of 10000000 per object" in health.message


def test_patterns_that_scripts_use_work_as_in_lua() -> None:
    script = """
    local msg = obj.status.message
    local words = {}
    for key, value in string.gmatch(msg, "(%w+)=(%w+)") do words[#words + 1] = key .. ":" .. value end
    local trimmed = ("  " .. msg .. "  "):match("^%s*(.-)%s*$")
    local first, last = msg:find("b=2", 1, true)
    local replaced, count = string.gsub(msg, "%d", {["1"] = "one"})
    local reason = string.match(msg, "reason: (.*)$")
    return {status = "Healthy", message = table.concat(words, ",") .. "|" .. trimmed .. "|" .. first .. "-"
      .. last .. "|" .. replaced .. "|" .. count .. "|" .. reason}
    """
    obj = {**gadget(), "status": {"message": "a=1 b=2 reason: " + "x" * 2000}}
    health = assess(obj, UserRules(lua_scripts=[LuaScript("example.com", "Gadget", script)]))
    long = "x" * 2000
    expected = f"a:1,b:2|a=1 b=2 reason: {long}|5-7|a=one b=2 reason: {long}|2|{long}"
    assert (health.status, health.message) == (HealthStatus.HEALTHY, expected)


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("[b", "p.lua:2: malformed pattern (missing ']')"),
        ("(a", "p.lua:2: unfinished capture"),
        ("x%", "ends with '%'"),
    ],
)
def test_a_malformed_pattern_names_the_scripts_line(pattern: str, words: str) -> None:
    script = f"local x = 1\nreturn {{status = tostring(string.find('abc', '{pattern}'))}}"
    health = assess(gadget(), UserRules(lua_scripts=[LuaScript("example.com", "Gadget", script, "p.lua")]))
    assert health.status is HealthStatus.UNKNOWN
    assert words in health.message


def test_an_apps_own_rules_replace_the_configs_for_their_kinds(tmp_path: Path) -> None:
    crashed = {"apiVersion": "example.com/v1", "kind": "Widget", "current": "status.phase == 'Crashed'"}
    app = {"name": "web", "repo": "/r", "health": {"checks": [crashed]}}
    cfg = parse_config(
        {"health": {"luaDir": str(LUA), "checks": [CEL_CHECK]}, "apps": [app]}, "agent.yaml", tmp_path
    )
    base = user_rules(cfg.health, tmp_path)
    rules = app_rules(cfg.apps[0], None, "").over(base)
    health = assess(widget("Crashed"), rules)  # the app's rule, not the config's (which says Degraded)
    assert (health.status, health.rule) == (
        HealthStatus.HEALTHY,
        "CEL rule for example.com/Widget (apps[web].health.checks)",
    )
    assert assess(widget("Crashed"), base).status is HealthStatus.DEGRADED
    assert assess(gadget(), rules).rule.startswith("Lua health script for example.com/Gadget")  # kept


CEL_CHECK = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "current": "status.phase == 'Running'",
    "failed": "status.phase == 'Crashed'",
}


@pytest.mark.parametrize("folder", ["/etc", "../elsewhere", "a/../../b", " "])
def test_an_apps_lua_dir_must_be_a_folder_of_its_repository(tmp_path: Path, folder: str) -> None:
    app = {"name": "web", "repo": "/r", "health": {"luaDir": folder}}
    with pytest.raises(
        ConfigError, match=r"apps\[0\]\.health\.luaDir: .* must be a folder of the app's repository"
    ):
        parse_config({"apps": [app]}, "agent.yaml", tmp_path)


def test_a_folder_holds_cel_rules_too_and_the_configs_own_win(tmp_path: Path) -> None:
    rules = tmp_path / "rules" / "example.com"
    (rules / "Widget").mkdir(parents=True)
    (rules / "Widget" / "health.cel").write_text("current: status.phase == 'Crashed'\n")
    (rules / "Sprocket").mkdir()
    (rules / "Sprocket" / "health.cel").write_text('failed: "true"\ncurrent: "false"\n')
    cfg = parse_config({"health": {"luaDir": "rules", "checks": [CEL_CHECK]}}, "agent.yaml", tmp_path)
    both = user_rules(cfg.health, tmp_path)
    assert assess(widget("Crashed"), both).status is HealthStatus.DEGRADED  # the config's check
    sprocket = {"apiVersion": "example.com/v1", "kind": "Sprocket", "metadata": {"name": "s"}}
    health = assess(sprocket, both)
    assert (health.status, health.rule) == (
        HealthStatus.DEGRADED,
        f"CEL rule for example.com/Sprocket ({tmp_path / 'rules'}/example.com/Sprocket/health.cel)",
    )
    (rules / "Sprocket" / "health.cel").write_text("current: 1\n")
    with pytest.raises(ConfigError, match="Sprocket/health.cel: current: must be a CEL expression"):
        user_rules(cfg.health, tmp_path)


def test_a_plain_find_costs_about_the_subjects_length() -> None:
    # 1,000,000 characters searched for a 100-character needle: well within the budget
    script = (
        "local s = string.rep('ab', 500000)\n"
        "return {status = 'Healthy', message = tostring(s:find(string.rep('x', 100), 1, true))}"
    )
    health = assess(gadget(), UserRules(lua_scripts=[LuaScript("example.com", "Gadget", script)]))
    assert (health.status, health.message) == (HealthStatus.HEALTHY, "nil")
