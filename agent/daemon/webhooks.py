"""Git push webhooks: check who sent them, read which repository and ref moved.

A webhook is an unauthenticated door on the network, so this module does
as little with a payload as it can: it checks the provider's signature or
token over the raw body (in constant time) before parsing anything, and it
reads only the repository URLs and the pushed ref, which merely *select*
apps to refresh.  Nothing from a payload is fetched, executed or echoed:
errors say what was wrong with the request, never what it contained.

Providers and how they sign:

============================  ==============================  ============================
provider (path)               secret header                   event header
============================  ==============================  ============================
github                        X-Hub-Signature-256: sha256=…   X-GitHub-Event: push, ping
gitlab                        X-Gitlab-Token: <token>         X-Gitlab-Event: Push Hook, …
gitea, forgejo                X-Gitea-Signature / X-Forgejo-  X-Gitea-Event / X-Forgejo-
                              Signature: <hex>                Event: push
bitbucket-server              X-Hub-Signature: sha256=…       X-Event-Key: repo:refs_changed
bitbucket (Cloud)             X-Hub-Signature: sha256=…       X-Event-Key: repo:push
generic                       X-Signature: sha256=…, or       (none: every request is a push)
                              Authorization: Bearer <token>
============================  ==============================  ============================
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from agent.config import WebhookSecrets

PROVIDERS = ("github", "gitlab", "gitea", "forgejo", "bitbucket-server", "bitbucket", "generic")


class WebhookError(Exception):
    """A refused request: ``status`` is the HTTP answer, the message is safe to show."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Push:
    """One moved ref of one repository, as the payload names them."""

    urls: tuple[str, ...]  # every form of the repository URL the payload gives
    ref: str  # refs/heads/<branch> or refs/tags/<tag>
    default_branch: str | None = None


@dataclass(frozen=True)
class Event:
    kind: str  # "push", "ping" or "ignored"
    pushes: tuple[Push, ...] = ()
    name: str = ""  # the provider's event name, for logs (a fixed vocabulary, never free text)


# -- authentication -------------------------------------------------------------
def _hmac256(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.strip().encode(), expected.encode())


def authenticate(provider: str, headers: Mapping[str, str], body: bytes, secrets: WebhookSecrets) -> None:
    """Raise 401 unless the request carries the configured secret.  A
    provider with no secret configured accepts unsigned requests."""
    h = {k.lower(): v for k, v in headers.items()}
    if provider == "github":
        ok = _check_prefixed(secrets.github, h.get("x-hub-signature-256"), body)
    elif provider == "gitlab":
        ok = secrets.gitlab is None or _same(h.get("x-gitlab-token"), secrets.gitlab)
    elif provider in ("gitea", "forgejo"):
        secret = secrets.gitea
        given = h.get("x-forgejo-signature") or h.get("x-gitea-signature")
        ok = secret is None or _same(given, _hmac256(secret, body))
    elif provider == "bitbucket-server":
        ok = _check_prefixed(secrets.bitbucket_server, h.get("x-hub-signature"), body)
    elif provider == "bitbucket":
        ok = _check_prefixed(secrets.bitbucket, h.get("x-hub-signature"), body)
    elif provider == "generic":
        ok = _generic_ok(secrets, h, body)
    else:
        raise WebhookError(404, f"unknown webhook provider (known: {', '.join(PROVIDERS)})")
    if not ok:
        raise WebhookError(401, "missing or wrong webhook signature")


def _check_prefixed(secret: str | None, given: str | None, body: bytes) -> bool:
    return secret is None or _same(given, "sha256=" + _hmac256(secret, body))


def _generic_ok(secrets: WebhookSecrets, h: Mapping[str, str], body: bytes) -> bool:
    if secrets.generic is None and secrets.generic_token is None:
        return True
    if secrets.generic is not None and _check_prefixed(secrets.generic, h.get("x-signature"), body):
        return True
    auth = h.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return (
        secrets.generic_token is not None
        and scheme.lower() == "bearer"
        and _same(token, secrets.generic_token)
    )


# -- payloads ---------------------------------------------------------------------
MAX_JSON_DEPTH = 64  # the providers' pushes nest fewer than 10 levels


def json_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets
    inside strings not counted), found without parsing it: the parser
    recurses once per level, so a 200,000-deep body must be refused
    before it reaches the parser."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub(b"", body)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[][{}]")


def _load(body: bytes, content_type: str) -> dict[str, Any]:
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(body.decode("utf-8"), strict_parsing=True)
            body = form["payload"][0].encode()
        if json_depth(body) > MAX_JSON_DEPTH:
            raise WebhookError(400, f"malformed payload: JSON nested more than {MAX_JSON_DEPTH} levels deep")
        data = json.loads(body)
    except (ValueError, KeyError, IndexError, UnicodeDecodeError, RecursionError):
        raise WebhookError(400, "malformed payload: expected a JSON object") from None
    if not isinstance(data, dict):
        raise WebhookError(400, "malformed payload: expected a JSON object")
    return data


def _get(data: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _strings(*values: Any) -> tuple[str, ...]:
    return tuple(v for v in values if isinstance(v, str) and v)


def _require(urls: tuple[str, ...], ref: Any) -> str:
    if not urls or not isinstance(ref, str) or not ref:
        raise WebhookError(400, "malformed payload: no repository URL or ref")
    return ref


def parse(provider: str, headers: Mapping[str, str], body: bytes) -> Event:
    """The pushes a (verified) request announces."""
    h = {k.lower(): v for k, v in headers.items()}
    content_type = h.get("content-type", "application/json")
    if provider == "github":
        return _github_like(h.get("x-github-event", ""), body, content_type, ping="ping")
    if provider in ("gitea", "forgejo"):
        return _github_like(h.get("x-forgejo-event") or h.get("x-gitea-event", ""), body, content_type)
    if provider == "gitlab":
        return _gitlab(h.get("x-gitlab-event", ""), body, content_type)
    if provider == "bitbucket-server":
        return _bitbucket_server(h.get("x-event-key", ""), body, content_type)
    if provider == "bitbucket":
        return _bitbucket_cloud(h.get("x-event-key", ""), body, content_type)
    if provider == "generic":
        return _generic(body, content_type)
    raise WebhookError(404, f"unknown webhook provider (known: {', '.join(PROVIDERS)})")


def _github_like(event: str, body: bytes, content_type: str, ping: str | None = None) -> Event:
    if ping is not None and event == ping:
        _load(body, content_type)
        return Event("ping", name=ping)
    if event != "push":
        return Event("ignored", name="other")
    data = _load(body, content_type)
    repo = data.get("repository")
    urls = _strings(*(_get(repo, k) for k in ("clone_url", "ssh_url", "git_url", "html_url", "url")))
    ref = _require(urls, data.get("ref"))
    default = _get(repo, "default_branch")
    return Event("push", (Push(urls, ref, default if isinstance(default, str) else None),), name="push")


_GITLAB_PUSH = {"Push Hook", "Tag Push Hook", "System Hook"}


def _gitlab(event: str, body: bytes, content_type: str) -> Event:
    if event not in _GITLAB_PUSH:
        return Event("ignored", name="other")
    data = _load(body, content_type)
    if data.get("object_kind") not in ("push", "tag_push"):
        return Event("ignored", name="other")
    project = data.get("project")
    repository = data.get("repository")
    urls = _strings(
        _get(project, "git_http_url"),
        _get(project, "git_ssh_url"),
        _get(project, "web_url"),
        _get(repository, "git_http_url"),
        _get(repository, "git_ssh_url"),
        _get(repository, "homepage"),
    )
    ref = _require(urls, data.get("ref"))
    default = _get(project, "default_branch")
    return Event("push", (Push(urls, ref, default if isinstance(default, str) else None),), name="push")


def _bitbucket_server(event: str, body: bytes, content_type: str) -> Event:
    if event == "diagnostics:ping":
        return Event("ping", name="ping")
    if event not in ("repo:refs_changed", "mirror:repo_synchronized"):
        return Event("ignored", name="other")
    data = _load(body, content_type)
    clones = _get(data, "repository", "links", "clone")
    urls = (
        _strings(*(c.get("href") for c in clones if isinstance(c, dict))) if isinstance(clones, list) else ()
    )
    changes = data.get("changes")
    refs = [_get(c, "refId") or _get(c, "ref", "id") for c in changes] if isinstance(changes, list) else []
    refs = [r for r in refs if isinstance(r, str) and r]
    _require(urls, refs[0] if refs else None)
    default = _get(data, "repository", "defaultBranch")
    default = default.removeprefix("refs/heads/") if isinstance(default, str) else None
    return Event("push", tuple(Push(urls, r, default) for r in refs), name="push")


def _bitbucket_cloud(event: str, body: bytes, content_type: str) -> Event:
    if event != "repo:push":
        return Event("ignored", name="other")
    data = _load(body, content_type)
    full_name = _get(data, "repository", "full_name")
    html = _get(data, "repository", "links", "html", "href")
    derived = (
        (f"https://bitbucket.org/{full_name}.git", f"git@bitbucket.org:{full_name}.git")
        if isinstance(full_name, str) and full_name
        else ()
    )
    urls = _strings(html, *derived)
    changes = _get(data, "push", "changes")
    pushes = []
    for change in changes if isinstance(changes, list) else []:
        new = _get(change, "new")
        name, kind = _get(new, "name"), _get(new, "type")
        if isinstance(name, str) and kind in ("branch", "named_branch", "tag"):
            prefix = "refs/tags/" if kind == "tag" else "refs/heads/"
            pushes.append(Push(urls, prefix + name))
    _require(urls, pushes[0].ref if pushes else None)
    return Event("push", tuple(pushes), name="push")


def _generic(body: bytes, content_type: str) -> Event:
    """``{"repository": URL, "ref": "refs/heads/main"}``; ``branch`` or
    ``tag`` may stand for ``ref``."""
    data = _load(body, content_type)
    urls = _strings(data.get("repository") or data.get("repo"))
    ref = data.get("ref")
    if not ref and isinstance(data.get("branch"), str):
        ref = "refs/heads/" + data["branch"]
    if not ref and isinstance(data.get("tag"), str):
        ref = "refs/tags/" + data["tag"]
    ref = _require(urls, ref)
    if not ref.startswith("refs/"):
        ref = "refs/heads/" + ref
    return Event("push", (Push(urls, ref),), name="push")
