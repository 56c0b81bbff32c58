"""Who a request is: its bearer token, then the user it impersonates.

* The emulated cluster's own token is its admin, in ``system:masters``.
* A service account's token, issued by a TokenRequest (``kubectl create token
  SA``), is that account: ``system:serviceaccount:<ns>:<name>`` in the groups
  ``system:serviceaccounts``, ``system:serviceaccounts:<ns>`` and
  ``system:authenticated``, while the account exists with the same uid and the
  token has not expired (``pkg/serviceaccount/claims.go``).  The token is a JWT
  with the claims a real one carries, signed with a key the cluster database
  keeps (HMAC, not RSA: nothing outside the emulated cluster verifies it).
* ``Impersonate-User``, ``Impersonate-Group``, ``Impersonate-Uid`` and
  ``Impersonate-Extra-*`` (``kubectl --as``, ``--as-group``) make the request
  another user's, when the requester may ``impersonate`` each of them (the
  admin may; ``edit`` grants it on service accounts), as apiserver's
  ``endpoints/filters/impersonation.go`` does: a service account impersonated
  without groups gets its fixed groups, and every user but
  ``system:anonymous`` gets ``system:authenticated``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from agent.emulator.objects import JSON
from agent.emulator.rbac.rules import Attributes, Evaluator, User, forbidden_message
from agent.kube.errors import BadRequest, Forbidden, Unauthorized

ADMIN = User("emulator-admin", ("system:masters", "system:authenticated"))
AUTHENTICATED = "system:authenticated"
SA_PREFIX = "system:serviceaccount:"
ISSUER = "https://kubernetes.default.svc.cluster.local"
_KEY = "serviceaccount-signing-key"


def service_account_user(ns: str, name: str, uid: str = "") -> User:
    groups = ("system:serviceaccounts", f"system:serviceaccounts:{ns}", AUTHENTICATED)
    return User(f"{SA_PREFIX}{ns}:{name}", groups, uid)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Identities:
    def __init__(self, store: Any, admin_token: str | None) -> None:
        self.store = store
        self.admin_token = admin_token

    def _key(self) -> bytes:
        saved = self.store.get_meta(_KEY)
        if not saved:
            saved = secrets.token_hex(32)
            self.store.set_meta(_KEY, saved)
        return bytes.fromhex(saved)

    def issue(self, account: JSON, audiences: list[str], seconds: int) -> tuple[str, int]:
        """A token for a service account, and when it expires (epoch seconds)."""
        meta = account["metadata"]
        now = int(time.time())
        claims = {
            "aud": audiences,
            "exp": now + seconds,
            "iat": now,
            "iss": ISSUER,
            "jti": secrets.token_hex(16),
            "kubernetes.io": {
                "namespace": meta["namespace"],
                "serviceaccount": {"name": meta["name"], "uid": meta.get("uid", "")},
            },
            "nbf": now,
            "sub": f"{SA_PREFIX}{meta['namespace']}:{meta['name']}",
        }
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self._key(), f"{head}.{body}".encode(), hashlib.sha256).digest())
        return f"{head}.{body}.{signature}", now + seconds

    def authenticate(self, header: str) -> User | None:
        """The user of an ``Authorization`` header; None when no token is required."""
        if self.admin_token is None:
            return None
        scheme, _, given = header.partition(" ")
        given = given.strip()
        if scheme.lower() != "bearer" or not given:
            raise Unauthorized("Unauthorized")
        if hmac.compare_digest(given.encode(), self.admin_token.encode()):
            return ADMIN
        found = self._account(given)
        if found is None:
            raise Unauthorized("Unauthorized")
        return found

    def _account(self, token: str) -> User | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = _b64(hmac.new(self._key(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected.encode(), parts[2].encode()):
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
            ns = claims["kubernetes.io"]["namespace"]
            account = claims["kubernetes.io"]["serviceaccount"]
        except (ValueError, KeyError, TypeError):
            return None
        if int(claims.get("exp", 0)) < time.time():
            return None
        live = self.store.get("", "serviceaccounts", ns, account.get("name", ""))
        if live is None or live["metadata"].get("uid") != account.get("uid"):
            return None  # the account was deleted (or made again): its tokens end with it
        return service_account_user(ns, account["name"], account.get("uid", ""))

    def impersonated(self, user: User, headers: Mapping[str, Any], rbac: Evaluator) -> User:
        """The user a request acts as (``user`` itself without impersonation headers)."""
        name = headers.get("impersonate-user")
        groups = list(headers.getlist("impersonate-group")) if hasattr(headers, "getlist") else []
        uid = headers.get("impersonate-uid") or ""
        extra: dict[str, list[str]] = {}
        for key, value in headers.items():
            if key.lower().startswith("impersonate-extra-"):
                extra.setdefault(key[len("impersonate-extra-") :].lower(), []).append(value)
        if not name:
            if groups or uid or extra:
                raise BadRequest(
                    "requested "
                    + ", ".join(
                        f"{k}={v}" for k, v in (("groups", groups), ("uid", uid), ("extra", extra)) if v
                    )
                    + " without impersonating a user"
                )
            return user
        checks: list[Attributes] = []
        if name.startswith(SA_PREFIX) and name.count(":") == 3:
            ns, sa = name[len(SA_PREFIX) :].split(":", 1)
            checks.append(Attributes("impersonate", "serviceaccounts", namespace=ns, name=sa))
            if not groups:
                groups = ["system:serviceaccounts", f"system:serviceaccounts:{ns}"]
        else:
            checks.append(Attributes("impersonate", "users", name=name))
        checks += [Attributes("impersonate", "groups", name=g) for g in groups]
        if uid:
            checks.append(Attributes("impersonate", "uids", group="authentication.k8s.io", name=uid))
        for key, values in extra.items():
            checks += [
                Attributes(
                    "impersonate", "userextras", group="authentication.k8s.io", subresource=key, name=v
                )
                for v in values
            ]
        for check in checks:
            ok, reason = rbac.allowed(user, check)
            if not ok:
                raise Forbidden(forbidden_message(user, check, reason), details=_details(check))
        if name != "system:anonymous" and AUTHENTICATED not in groups:
            groups.append(AUTHENTICATED)
        return User(name, tuple(groups), uid, extra)


def _details(a: Attributes) -> dict[str, Any]:
    out: dict[str, Any] = {"name": a.name, "group": a.group, "kind": a.resource}
    return {k: v for k, v in out.items() if v}
