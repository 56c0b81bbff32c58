"""URLs that run code, schemes not allowed, and paths that leave the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.errors import SourceFailed
from agent.source import GitSource, SourceSettings, UrlPolicy, check_url
from agent.source.urls import KNOWN_SCHEMES
from tests.support.repos import GitRepo


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ext::sh -c touch% {marker}", "remote helper"),
        ("--upload-pack=touch {marker}", "command-line option"),
        ("-oProxyCommand=touch {marker}", "command-line option"),
        ("ssh://-oProxyCommand=touch%20{marker}/r.git", "starts with '-'"),
        ("-oProxyCommand=x@host:r.git", "command-line option"),
        ("git@-oProxyCommand=x:r.git", "starts with '-'"),
        ("fd::17/r", "remote helper"),
        ("ftp://127.0.0.1/r.git", "not supported"),
        ("http://127.0.0.1/r.git", "scheme 'http' is not allowed"),
        ("file:///etc", "local repositories"),
        ("/etc", "local repositories"),
        ("https://127.0.0.1/r\n.git", "control characters"),
    ],
)
def test_dangerous_or_disallowed_urls_are_refused_before_git_runs(url: str, why: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    source = GitSource(tmp_path / "cache")  # the default policy: https, ssh, git
    with pytest.raises(SourceFailed, match=why):
        source.checkout(url.format(marker=marker), "main")
    assert not marker.exists()
    assert not (tmp_path / "cache" / "repos").exists()  # git never ran


def test_local_repositories_only_when_allowed(repo: GitRepo, tmp_path: Path) -> None:
    commit = repo.commit("one")
    with pytest.raises(SourceFailed, match=r"add 'file' to source.allowedSchemes"):
        GitSource(tmp_path / "a").checkout(str(repo.path), "HEAD")
    allowed = GitSource(tmp_path / "b", SourceSettings(policy=UrlPolicy(("https", "file"))))
    assert allowed.checkout(str(repo.path), "HEAD").revision.commit == commit
    assert allowed.checkout(f"file://{repo.path}", "HEAD").revision.commit == commit


def test_default_policy_and_keys() -> None:
    assert UrlPolicy().schemes == ("https", "ssh", "git")
    url = check_url("https://bot:t0ken-xyz@Git.Example.com/team/deploy.git/")
    assert url.url == "https://Git.Example.com/team/deploy.git/"  # what git is given: no credentials
    assert (url.username, url.password) == ("bot", "t0ken-xyz")
    assert url.shown == "https://***@Git.Example.com/team/deploy.git/"
    assert url.key == "https://git.example.com/team/deploy"
    ssh = check_url("git@github.com:team/deploy.git")
    assert ssh.url == "git@github.com:team/deploy.git" and ssh.key == "ssh://github.com/team/deploy"
    assert check_url("ssh://git@github.com:22/team/deploy").key == "ssh://github.com:22/team/deploy"


def _local(tmp_path: Path) -> GitSource:
    return GitSource(tmp_path / "cache", SourceSettings(policy=UrlPolicy(KNOWN_SCHEMES)))


@pytest.mark.parametrize("target", ["../../../../../../etc/passwd", "/etc/passwd", "../../.."])
def test_a_symlink_leaving_the_repository_is_refused(repo: GitRepo, tmp_path: Path, target: str) -> None:
    repo.write("apps/web/app.yaml", "kind: ConfigMap\n")
    os.symlink(target, repo.path / "apps" / "web" / "leak.yaml")
    repo.commit("leak")
    with pytest.raises(SourceFailed, match=r"apps/web/leak\.yaml links to .*outside the repository; refused"):
        _local(tmp_path).checkout(str(repo.path), "HEAD")
    assert not any((tmp_path / "cache" / "checkouts").glob("[0-9a-f]*"))  # nothing half-exported


def test_a_symlink_inside_the_repository_is_kept(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("base/app.yaml", "kind: ConfigMap\n")
    (repo.path / "apps").mkdir()
    os.symlink("../base", repo.path / "apps" / "web")
    repo.commit("link")
    got = _local(tmp_path).checkout(str(repo.path), "HEAD")
    assert (got.root / "apps" / "web" / "app.yaml").read_text() == "kind: ConfigMap\n"
    assert got.path("apps/web") == (got.root / "base").resolve()
    with pytest.raises(SourceFailed, match=r"path '\.\./x' leaves the repository"):
        got.path("../x")
    with pytest.raises(SourceFailed, match="leaves the repository"):
        got.path("/etc")


def test_old_checkouts_are_removed(repo: GitRepo, tmp_path: Path) -> None:
    source = _local(tmp_path)
    repo.write("a", "1")
    repo.commit()
    old = source.checkout(str(repo.path), "HEAD")
    repo.write("a", "2")
    repo.commit()
    new = source.checkout(str(repo.path), "HEAD")
    future = old.root.stat().st_mtime + source.settings.checkout_ttl + 1
    os.utime(source.checkouts.root / f"{new.revision.commit}.used", (future, future))  # in use "now"
    assert source.checkouts.prune(future, force=True) == [old.revision.commit]
    assert not old.root.exists() and new.root.is_dir()
    # used again later: exported again, same content
    again = source.checkout(str(repo.path), old.revision.commit)
    assert (again.root / "a").read_text() == "1"


def test_source_settings_from_the_configuration(tmp_path: Path) -> None:
    from agent.config import parse_config
    from agent.errors import ConfigError
    from agent.source import signature_policy
    from agent.source.settings import source_settings

    cfg = parse_config(
        {
            "source": {
                "allowedSchemes": ["https", "file"],
                "timeoutSeconds": 5,
                "credentials": [
                    {"url": "https://git.example.com/team/", "password": {"file": "secrets/token"}},
                    {"url": "ssh://git.example.com/", "sshKey": {"env": "DEPLOY_KEY"}},
                ],
            },
            "apps": [
                {"name": "a", "repo": "r", "verify": {"keyring": "keys/release.asc"}},
                {"name": "b", "repo": "r"},
            ],
        },
        "agent.yaml",
        tmp_path,
    )
    settings = source_settings(cfg)
    assert settings.policy.schemes == ("https", "file") and settings.timeout == 5
    assert settings.credentials[0].password is not None
    assert settings.credentials[0].password.file == tmp_path / "secrets" / "token"
    assert settings.credentials[1].ssh_key is not None and settings.credentials[1].ssh_key.env == "DEPLOY_KEY"
    policy = signature_policy(cfg, cfg.apps[0])
    assert policy is not None and policy.keyring == tmp_path / "keys" / "release.asc"
    assert signature_policy(cfg, cfg.apps[1]) is None
    assert parse_config({}, "agent.yaml", tmp_path).source.allowed_schemes == ["https", "ssh", "git"]

    bad = {
        "source": {"allowedSchemes": ["ext"], "credentials": [{"url": "https://x/", "password": {}}]},
        "apps": [{"name": "a", "repo": "r", "verify": {}}],
    }
    with pytest.raises(ConfigError) as e:
        parse_config(bad, "agent.yaml", tmp_path)
    message = str(e.value)
    assert message.startswith("agent.yaml: ")
    assert "source.allowedSchemes[0]: " in message
    assert "source.credentials[0].password: set exactly one of env, file" in message
    assert "apps[0].verify: set keyring, allowedSigners or both" in message
