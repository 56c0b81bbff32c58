"""agent.yaml read again: a new file is taken once it holds still, its
restart-only settings are named and kept, an invalid or emptied file keeps
the running fleet and says why; the fleet's comparison by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from agent.config import AgentConfig, Application, load_config
from agent.daemon.fleetwatch import ConfigWatch, restart_only
from agent.daemon.membership import changed_fields, compare


def app(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "repo": "https://git.example.invalid/r.git", **fields}


def write(path: Path, apps: list[dict[str, Any]], **top: Any) -> None:
    path.write_text(yaml.safe_dump({"apps": apps, **top}))


class Seen:
    def __init__(self) -> None:
        self.applied: list[AgentConfig] = []
        self.problems: list[str] = []


def watch(path: Path, seen: Seen) -> ConfigWatch:
    return ConfigWatch(path, load_config(path), seen.applied.append, seen.problems.append)


def test_a_new_file_is_applied_once_it_holds_still(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    write(path, [app("web")])
    seen = Seen()
    w = watch(path, seen)
    assert w.check() is False  # nothing changed
    write(path, [app("web"), app("api", path="api")])
    assert w.check() is False  # changed since the last look: maybe half-written
    assert w.check() is True
    assert [a.name for a in seen.applied[0].apps] == ["web", "api"]
    assert seen.problems == [""]
    assert w.check() is False  # the same content again: nothing to do
    assert len(seen.applied) == 1


def test_restart_only_settings_are_named_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    write(path, [app("web")], daemon={"port": 8080, "apiToken": "old-token-1234"})
    seen = Seen()
    w = watch(path, seen)
    write(path, [app("web")], daemon={"port": 9090, "apiToken": "new-token-5678"}, stateDir="elsewhere")
    w.check()
    assert w.check() is True
    (applied,) = seen.applied
    assert applied.daemon.port == 8080 and applied.state_dir == ".gitops-agent"
    assert restart_only(load_config(path), applied) == ["daemon.apiToken", "daemon.port", "stateDir"]


def test_an_invalid_or_emptied_file_keeps_the_fleet_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    write(path, [app("web")])
    seen = Seen()
    w = watch(path, seen)
    write(path, [app("web", intervalSeconds=-1)])
    w.check()
    assert w.check() is False
    assert seen.problems == [f"{path}: apps[0].intervalSeconds: must be > 0; the running fleet is kept"]
    path.write_text("")
    w.check()
    assert w.check() is False
    emptied = f"{path}: no apps and no appSets (the file emptied?); the running fleet is kept"
    assert seen.problems[-1] == emptied
    path.unlink()
    w.check()
    w.check()
    assert "configuration file not found" in seen.problems[-1]
    assert seen.applied == []


def test_the_fleet_is_compared_by_name() -> None:
    def a(name: str, **fields: Any) -> Application:
        return Application.model_validate(app(name, **fields))

    served = {"web": a("web"), "db": a("db"), "api": a("api")}
    change = compare(served, [a("web"), a("api", path="v2", intervalSeconds=5), a("new")])
    assert (change.added, change.removed, change.changed) == (("new",), ("db",), ("api",))
    moved = a("api", path="v2", intervalSeconds=5)
    assert changed_fields(served["api"], moved) == ["intervalSeconds", "path"]
    assert not compare(served, list(served.values()))
