"""``daemon.ha``: on by default with client-go's durations, and bad values named."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from agent.config import load_config, parse_config
from agent.errors import ConfigError
from agent.ha import Settings


def test_defaults_elect_a_single_replica_without_settings(tmp_path: Path) -> None:
    config = parse_config({}, "agent.yaml", tmp_path)
    ha = config.daemon.ha
    assert (ha.enabled, ha.lease_seconds, ha.renew_seconds) == (True, 10, 2)
    assert (ha.identity, ha.capacity) == (None, 1)
    settings = Settings.of(ha, config.cluster.state_namespace)
    assert settings.identity == f"{socket.gethostname()}-{os.getpid()}"
    assert settings.namespace == "gitops-agent"


def test_settings_are_read_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(
        "cluster: {stateNamespace: agents}\n"
        "daemon:\n  ha: {leaseSeconds: 30, renewSeconds: 5, identity: pod-a, capacity: 2}\n"
    )
    config = load_config(path)
    settings = Settings.of(config.daemon.ha, config.cluster.state_namespace)
    assert settings == Settings("agents", "pod-a", 30, 5.0, 2.0)


@pytest.mark.parametrize(
    ("ha", "message"),
    [
        ({"leaseSeconds": 6, "renewSeconds": 2}, r"daemon\.ha.*renewSeconds \(2\) must be under a third"),
        ({"leaseSeconds": 1}, r"daemon\.ha\.leaseSeconds"),
        ({"renewSeconds": 0}, r"daemon\.ha\.renewSeconds"),
        ({"identity": ""}, r"daemon\.ha\.identity"),
        ({"leaderElection": True}, r"daemon\.ha\.leaderElection"),
    ],
)
def test_bad_settings_name_the_field(tmp_path: Path, ha: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as e:
        parse_config({"daemon": {"ha": ha}}, "agent.yaml", tmp_path)
    assert str(e.value).startswith("agent.yaml")
