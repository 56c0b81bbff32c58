"""Webhook authentication and payload reading, per provider, and app matching."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from urllib.parse import quote

import pytest

from agent.backoff import Backoff
from agent.config import WebhookSecrets
from agent.daemon.matching import ref_matches, repo_key, selected
from agent.daemon.webhooks import Push, WebhookError, authenticate, parse

SECRET = "webhook-secret-value"


def sig(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


GITHUB = json.dumps(
    {
        "ref": "refs/heads/main",
        "repository": {
            "clone_url": "https://github.com/Team/Deploy.git",
            "ssh_url": "git@github.com:Team/Deploy.git",
            "html_url": "https://github.com/Team/Deploy",
            "default_branch": "main",
        },
    }
).encode()
GITLAB = json.dumps(
    {
        "object_kind": "push",
        "ref": "refs/heads/main",
        "project": {
            "git_http_url": "https://gitlab.example.com/team/deploy.git",
            "git_ssh_url": "git@gitlab.example.com:team/deploy.git",
            "default_branch": "main",
        },
    }
).encode()
GITEA = GITHUB.replace(b"github.com", b"gitea.example.com")
BITBUCKET_SERVER = json.dumps(
    {
        "eventKey": "repo:refs_changed",
        "repository": {
            "links": {
                "clone": [
                    {"href": "https://bb.example.com/scm/team/deploy.git", "name": "http"},
                    {"href": "ssh://git@bb.example.com:7999/team/deploy.git", "name": "ssh"},
                ]
            }
        },
        "changes": [{"refId": "refs/heads/main", "type": "UPDATE"}],
    }
).encode()
BITBUCKET_CLOUD = json.dumps(
    {
        "repository": {
            "full_name": "team/deploy",
            "links": {"html": {"href": "https://bitbucket.org/team/deploy"}},
        },
        "push": {"changes": [{"new": {"type": "branch", "name": "main"}}, {"new": None}]},
    }
).encode()
GENERIC = json.dumps({"repository": "https://git.example.com/team/deploy.git", "branch": "main"}).encode()

CASES = {
    "github": (GITHUB, {"X-GitHub-Event": "push"}, lambda b: {"X-Hub-Signature-256": "sha256=" + sig(b)}),
    "gitlab": (GITLAB, {"X-Gitlab-Event": "Push Hook"}, lambda b: {"X-Gitlab-Token": SECRET}),
    "gitea": (GITEA, {"X-Gitea-Event": "push"}, lambda b: {"X-Gitea-Signature": sig(b)}),
    "forgejo": (GITEA, {"X-Forgejo-Event": "push"}, lambda b: {"X-Forgejo-Signature": sig(b)}),
    "bitbucket-server": (
        BITBUCKET_SERVER,
        {"X-Event-Key": "repo:refs_changed"},
        lambda b: {"X-Hub-Signature": "sha256=" + sig(b)},
    ),
    "bitbucket": (
        BITBUCKET_CLOUD,
        {"X-Event-Key": "repo:push"},
        lambda b: {"X-Hub-Signature": "sha256=" + sig(b)},
    ),
    "generic": (GENERIC, {}, lambda b: {"X-Signature": "sha256=" + sig(b)}),
}
ALL_SECRETS = WebhookSecrets(
    github=SECRET, gitlab=SECRET, gitea=SECRET, bitbucket_server=SECRET, bitbucket=SECRET, generic=SECRET
)


@pytest.mark.parametrize("provider", sorted(CASES))
def test_signed_push_is_accepted_and_read(provider: str) -> None:
    body, event, signed = CASES[provider]
    headers = {**event, **signed(body)}
    authenticate(provider, headers, body, ALL_SECRETS)
    parsed = parse(provider, headers, body)
    assert parsed.kind == "push"
    assert parsed.pushes[0].ref == "refs/heads/main"
    assert parsed.pushes[0].urls


@pytest.mark.parametrize("provider", sorted(CASES))
def test_unsigned_or_wrongly_signed_push_is_401_when_a_secret_is_set(provider: str) -> None:
    body, event, signed = CASES[provider]
    with pytest.raises(WebhookError) as unsigned:
        authenticate(provider, event, body, ALL_SECRETS)
    assert unsigned.value.status == 401
    forged = {**event, **{k: v.replace(v[-4:], "0000") for k, v in signed(body).items()}}
    with pytest.raises(WebhookError) as wrong:
        authenticate(provider, forged, body, ALL_SECRETS)
    assert wrong.value.status == 401
    if provider != "gitlab":  # GitLab sends a token, not a signature of the body
        tampered = body.replace(b"main", b"evil")
        with pytest.raises(WebhookError):
            authenticate(provider, {**event, **signed(body)}, tampered, ALL_SECRETS)


@pytest.mark.parametrize("provider", sorted(CASES))
def test_no_secret_configured_accepts_unsigned(provider: str) -> None:
    body, event, _ = CASES[provider]
    authenticate(provider, event, body, WebhookSecrets())
    assert parse(provider, event, body).kind == "push"


def test_generic_bearer_token() -> None:
    secrets = WebhookSecrets(generic_token="ci-token-123")
    authenticate("generic", {"Authorization": "Bearer ci-token-123"}, GENERIC, secrets)
    with pytest.raises(WebhookError):
        authenticate("generic", {"Authorization": "Bearer ci-token-124"}, GENERIC, secrets)
    with pytest.raises(WebhookError):
        authenticate("generic", {}, GENERIC, secrets)


@pytest.mark.parametrize(
    ("provider", "headers"),
    [
        ("github", {"X-GitHub-Event": "ping"}),
        ("bitbucket-server", {"X-Event-Key": "diagnostics:ping"}),
    ],
)
def test_ping(provider: str, headers: dict[str, str]) -> None:
    assert parse(provider, headers, b"{}").kind == "ping"


@pytest.mark.parametrize(
    ("provider", "headers"),
    [
        ("github", {"X-GitHub-Event": "pull_request"}),
        ("gitlab", {"X-Gitlab-Event": "Merge Request Hook"}),
        ("gitea", {"X-Gitea-Event": "issues"}),
        ("bitbucket", {"X-Event-Key": "pullrequest:created"}),
    ],
)
def test_other_events_are_ignored(provider: str, headers: dict[str, str]) -> None:
    assert parse(provider, headers, b"not even json").kind == "ignored"


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe", json.dumps({"ref": "refs/heads/main"}).encode()]
)
def test_malformed_payload_is_400_without_echo(body: bytes) -> None:
    with pytest.raises(WebhookError) as e:
        parse("github", {"X-GitHub-Event": "push"}, body)
    assert e.value.status == 400
    assert "not json" not in str(e.value) and "text" not in str(e.value)


def test_github_form_encoded_payload() -> None:
    body = b"payload=" + quote(GITHUB.decode()).encode()
    headers = {"X-GitHub-Event": "push", "Content-Type": "application/x-www-form-urlencoded"}
    assert parse("github", headers, body).pushes[0].ref == "refs/heads/main"


def test_unknown_provider_is_404() -> None:
    with pytest.raises(WebhookError) as e:
        authenticate("svn", {}, b"{}", WebhookSecrets())
    assert e.value.status == 404


def test_bitbucket_cloud_skips_deleted_branches_and_derives_clone_urls() -> None:
    event = parse("bitbucket", {"X-Event-Key": "repo:push"}, BITBUCKET_CLOUD)
    assert [p.ref for p in event.pushes] == ["refs/heads/main"]
    assert "git@bitbucket.org:team/deploy.git" in event.pushes[0].urls


# -- matching -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/team/deploy.git",
        "https://github.com/Team/Deploy",
        "http://bot:token@github.com/team/deploy/",
        "git@github.com:team/deploy.git",
        "ssh://git@github.com:22/team/deploy.git",
        "https://GitHub.com:443/team/deploy",
    ],
)
def test_repo_key_normalizes_url_forms(url: str) -> None:
    assert repo_key(url) == "github.com/team/deploy"


def test_repo_key_keeps_different_repositories_apart() -> None:
    assert repo_key("https://github.com/team/deploy") != repo_key("https://github.com/team/deploy-2")
    assert repo_key("https://github.com/team/deploy") != repo_key("https://gitlab.com/team/deploy")
    assert repo_key("/srv/git/deploy.git") == repo_key("file:///srv/git/deploy")


def test_ref_matching() -> None:
    main = Push(("x",), "refs/heads/main", "main")
    assert ref_matches("main", main)
    assert ref_matches("HEAD", main)
    assert not ref_matches("HEAD", Push(("x",), "refs/heads/feature", "main"))
    assert ref_matches("HEAD", Push(("x",), "refs/heads/feature", None))
    assert not ref_matches("release", main)
    assert ref_matches("v1.2", Push(("x",), "refs/tags/v1.2"))
    assert not ref_matches("HEAD", Push(("x",), "refs/tags/v1.2"))
    assert not ref_matches("0123456789abcdef0123456789abcdef01234567", main)


def test_selected_apps() -> None:
    apps = [
        ("web", "git@github.com:team/deploy.git", "main"),
        ("api", "https://github.com/team/deploy", "release"),
        ("other", "https://github.com/team/other", "main"),
    ]
    event = parse("github", {"X-GitHub-Event": "push"}, GITHUB)
    assert selected(apps, event.pushes) == ["web"]


# -- back-off -------------------------------------------------------------------------
def test_daemon_backoff_grows_and_is_capped() -> None:
    policy = Backoff(initial=2, maximum=60, jitter=0)
    assert [policy.delay(n) for n in range(8)] == [0, 2, 4, 8, 16, 32, 60, 60]
    jittered = Backoff(initial=10, maximum=1000, jitter=0.5)
    rand = random.Random(1)  # noqa: S311
    assert all(5 <= jittered.delay(1, rand) <= 10 for _ in range(50))
    assert Backoff(initial=1, maximum=5).delay(10_000) <= 5


def test_a_deeply_nested_payload_is_a_400_not_a_crash() -> None:
    body = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(WebhookError) as e:
        parse("generic", {"content-type": "application/json"}, body)
    assert e.value.status == 400
    body = b'{"a": "' + b"[" * 100 + b'", "ref": "main", "repository": "https://h/x.git"}'
    parse("generic", {"content-type": "application/json"}, body)  # brackets inside a string do not count


def test_a_url_that_does_not_parse_matches_nothing_and_does_not_raise() -> None:
    push = Push(("http://[::1",), "refs/heads/main", None)
    assert repo_key("http://[::1") != repo_key("https://h/x")
    assert selected([("web", "https://h/x.git", "HEAD")], [push]) == []
