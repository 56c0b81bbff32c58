from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config, parse_config
from agent.errors import ConfigError
from agent.redact import redact
from tests.support.repos import write_config


def test_full_config_parses_with_defaults(tmp_path: Path) -> None:
    cfg = load_config(
        write_config(
            tmp_path / "agent.yaml",
            """
        cluster:
          emulated: {path: state/cluster.db}
        apps:
          - name: guestbook
            repo: ./repo
            path: apps/guestbook
            namespace: guestbook
            valuesFiles: [values-production.yaml]
            values: {replicaCount: 2}
            syncPolicy: {prune: false, healthTimeoutSeconds: 30}
    """,
        )
    )
    app = cfg.apps[0]
    assert app.revision == "HEAD"
    assert app.values_files == ["values-production.yaml"]
    assert app.sync_policy.prune is False
    assert app.sync_policy.health_timeout_seconds == 30
    assert app.sync_policy.rollback_on_failure is True
    assert cfg.cluster.kind == "emulated"
    # relative paths are resolved against the config file's folder
    assert cfg.resolve("state/cluster.db") == tmp_path / "state" / "cluster.db"
    assert cfg.repo_location(app) == str(tmp_path / "repo")


def test_error_names_file_and_field_path(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "agent.yaml",
        """
        apps:
          - {name: a, repo: r}
          - {name: b, repo: r, syncPolicy: {healthTimeoutSeconds: 0}}
    """,
    )
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(e.value) == f"{path}: apps[1].syncPolicy.healthTimeoutSeconds: must be > 0"


def test_unknown_field_and_bad_name_are_reported_together(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "agent.yaml",
        """
        apps:
          - {name: Bad_Name, repo: r, colour: red}
    """,
    )
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "apps[0].name: 'Bad_Name' is not a valid name" in str(e.value)
    assert "apps[0].colour: unknown field" in str(e.value)


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("apps:\n  - name: a\n   repo: [\n")
    with pytest.raises(ConfigError, match=r"agent\.yaml:\d+: invalid YAML"):
        load_config(path)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config("/nonexistent/agent.yaml")


def test_duplicate_app_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="two apps are named 'a'"):
        parse_config({"apps": [{"name": "a", "repo": "r"}, {"name": "a", "repo": "r"}]}, "x.yaml", tmp_path)


def test_app_path_may_not_leave_the_repository(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"apps\[0\]\.path: '\.\./x' must be a path inside the repository"):
        parse_config({"apps": [{"name": "a", "repo": "r", "path": "../x"}]}, "x.yaml", tmp_path)


def test_two_cluster_backends_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="choose one of emulated, kubeconfig, inCluster"):
        parse_config({"cluster": {"emulated": {}, "inCluster": True}}, "x.yaml", tmp_path)


def test_env_expansion_registers_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_TOKEN_FOR_TEST", "tok-1234567890")
    cfg = parse_config(
        {
            "apps": [
                {
                    "name": "a",
                    "repo": "https://bot:${GIT_TOKEN_FOR_TEST}@git.example/r.git",
                    "values": {"literal": "$${NOT_EXPANDED}"},
                }
            ]
        },
        "x.yaml",
        tmp_path,
    )
    assert cfg.apps[0].repo == "https://bot:tok-1234567890@git.example/r.git"
    assert cfg.apps[0].values["literal"] == "${NOT_EXPANDED}"
    assert "tok-1234567890" not in redact(f"failed: {cfg.apps[0].repo} and tok-1234567890")


def test_missing_env_var_names_file_and_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    with pytest.raises(
        ConfigError, match=r"^x\.yaml: apps\[0\]\.repo: environment variable NOPE_NOT_SET is not set$"
    ):
        parse_config({"apps": [{"name": "a", "repo": "${NOPE_NOT_SET}"}]}, "x.yaml", tmp_path)


def test_unknown_app_selection_lists_known(tmp_path: Path) -> None:
    cfg = parse_config({"apps": [{"name": "a", "repo": "r"}]}, "x.yaml", tmp_path)
    with pytest.raises(ConfigError, match=r"no app named 'b' in the configuration \(apps: a\)"):
        cfg.select(["b"])


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(9)
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (BOMB + "apps: []\n", r"agent\.yaml \(document 1\): expands to more than"),
        (
            "apps:\n- name: a\n  repo: r\n  path: .\n  values:\n"
            + "".join("    " + line + "\n" for line in BOMB.splitlines()),
            r"alias bomb",
        ),
        ("x: &a [*a]\napps: []\n", r"refers to itself"),
        (
            "apps:\n- name: a\n  repo: r\n  path: .\n  values: {t: !!timestamp nope}\n",
            r"agent\.yaml:5: invalid YAML: the value is not a valid !!timestamp",
        ),
        (
            "apps:\n- name: a\n  repo: r\n  path: .\n  values: {f: !!float ';'}\n",
            r"agent\.yaml:5: invalid YAML",
        ),
    ],
)
def test_a_hostile_agent_yaml_is_one_clean_error(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "agent.yaml").write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "agent.yaml")


@pytest.mark.parametrize(
    ("repo", "message"),
    [
        ("ext::sh -c touch% /tmp/x", r"uses a git remote helper \(ext::\); refused"),
        ("fd::17", r"uses a git remote helper \(fd::\); refused"),
        ("--upload-pack=touch /tmp/x", r"looks like a command-line option; refused"),
    ],
)
def test_code_running_urls_reach_the_url_check_as_written(tmp_path: Path, repo: str, message: str) -> None:
    from agent.errors import SourceFailed
    from agent.source import UrlPolicy, check_url

    cfg = parse_config({"apps": [{"name": "a", "repo": repo, "path": "."}]}, "agent.yaml", tmp_path)
    location = cfg.repo_location(cfg.apps[0])
    assert location == repo
    with pytest.raises(SourceFailed, match=message):
        check_url(location, UrlPolicy(("https", "file")))


def test_an_unclosed_ipv6_url_is_refused_cleanly() -> None:
    from agent.errors import SourceFailed
    from agent.source import UrlPolicy, check_url

    with pytest.raises(SourceFailed, match=r"not a valid URL"):
        check_url("http://[::1/x.git", UrlPolicy(("http",)))
