"""Where a replica says it is reached (``daemon.ha.advertiseAddress``), the
README's ``daemon.ha`` block as a configuration, and the groups apps are hashed by."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from agent.config import parse_config
from agent.daemon.replicas import advertised, groups
from agent.errors import ConfigError
from agent.ha import owner
from tests.support.repos import PROJECT


def test_the_pod_ip_else_the_listening_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POD_IP", raising=False)
    config = parse_config({"daemon": {"port": 9000}}, "agent.yaml", tmp_path)
    assert advertised(config) == "http://127.0.0.1:9000"
    monkeypatch.setenv("POD_IP", "10.1.2.3")
    assert advertised(config) == "http://10.1.2.3:9000"
    monkeypatch.setenv("POD_IP", "fd00::7")
    assert advertised(config) == "http://[fd00::7]:9000"
    given = {"daemon": {"port": 9000, "ha": {"advertiseAddress": "https://agent-0.agents:8443/"}}}
    assert advertised(parse_config(given, "agent.yaml", tmp_path)) == "https://agent-0.agents:8443"


def test_an_address_that_is_not_a_url_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"daemon\.ha\.advertiseAddress"):
        parse_config({"daemon": {"ha": {"advertiseAddress": "10.1.2.3:8080"}}}, "agent.yaml", tmp_path)


def test_the_readme_block_is_a_valid_configuration(tmp_path: Path) -> None:
    readme = (PROJECT / "README.md").read_text()
    block = re.search(r"### High availability\n.*?```yaml\n(.*?)```", readme, re.S)
    assert block is not None
    config = parse_config(yaml.safe_load(block[1]), "README.md", tmp_path)
    assert config.daemon.ha.enabled and config.daemon.ha.lease_seconds == 10


def test_apps_joined_by_depends_on_hash_as_one_group(tmp_path: Path) -> None:
    """The gates read a dependency's state from the replica's own view, so an
    app and its dependencies (either way, transitively) have one owner."""
    spec = {"repo": "https://git.example.com/r.git", "namespace": "n"}
    apps = [
        {"name": "web", "path": "web", "dependsOn": ["db"], **spec},
        {"name": "db", "path": "db", **spec},
        {"name": "api", "path": "api", "dependsOn": ["db"], **spec},
        {"name": "cache", "path": "cache", **spec},
        {"name": "jobs", "path": "jobs", "dependsOn": ["cache"], **spec},
        {"name": "alone", "path": "alone", **spec},
    ]
    config = parse_config({"apps": apps}, "agent.yaml", tmp_path)
    assert groups(config.apps) == {
        "web": "api",
        "db": "api",
        "api": "api",
        "cache": "cache",
        "jobs": "cache",
        "alone": "alone",
    }
    names = [a.name for a in config.apps]
    members = {f"r{i}": 1.0 for i in range(5)}
    by_group = groups(config.apps)
    owners = {a: owner(by_group[a], members) for a in names}
    assert owners["web"] == owners["db"] == owners["api"] and owners["jobs"] == owners["cache"]
