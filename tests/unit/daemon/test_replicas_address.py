"""Where a replica says it is reached (``daemon.ha.advertiseAddress``), and the
README's ``daemon.ha`` block as a configuration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from agent.config import parse_config
from agent.daemon.replicas import advertised
from agent.errors import ConfigError
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
