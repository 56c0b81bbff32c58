"""TokenRequest: ``POST .../serviceaccounts/<name>/token`` (``kubectl create token``).

As ``pkg/registry/core/serviceaccount/storage/token.go`` in kubernetes/kubernetes
answers: the account must exist (404 otherwise), ``expirationSeconds`` defaults
to one hour and may not be under ten minutes (422), the audiences default to
the API server's issuer; the answer is the TokenRequest with
``status.token`` and ``status.expirationTimestamp``.  The token authenticates
as the account (:mod:`agent.emulator.rbac.identity`) until it expires or the
account is deleted.
"""

from __future__ import annotations

import time
from typing import Any

from agent.emulator.objects import JSON, not_found
from agent.emulator.rbac import Access
from agent.emulator.rbac.identity import ISSUER
from agent.emulator.registry import Registry
from agent.emulator.rest.routing import Target
from agent.kube.errors import ClusterError

_MIN_SECONDS = 600
_DEFAULT_SECONDS = 3600


def token_request(registry: Registry, access: Access, t: Target, body: Any) -> JSON:
    spec = dict((body or {}).get("spec") or {}) if isinstance(body, dict) else {}
    account = registry.get(t.rt, t.name, t.namespace)
    if account is None:
        raise not_found(t.rt, t.name)
    seconds = spec.get("expirationSeconds") or _DEFAULT_SECONDS
    if not isinstance(seconds, int) or seconds < _MIN_SECONDS:
        said = f"Invalid value: {seconds}: may not specify a duration less than 10 minutes"
        cause = {"reason": "FieldValueInvalid", "field": "spec.expirationSeconds", "message": said}
        raise ClusterError(
            f'TokenRequest.authentication.k8s.io "{t.name}" is invalid: spec.expirationSeconds: {said}',
            code=422,
            reason="Invalid",
            details={
                "name": t.name,
                "group": "authentication.k8s.io",
                "kind": "TokenRequest",
                "causes": [cause],
            },
        )
    audiences = list(spec.get("audiences") or [ISSUER])
    token, expires = access.identities.issue(account, audiences, int(seconds))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
    return {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": t.name, "namespace": t.namespace, "creationTimestamp": None},
        "spec": {
            "audiences": audiences,
            "expirationSeconds": seconds,
            "boundObjectRef": spec.get("boundObjectRef"),
        },
        "status": {"token": token, "expirationTimestamp": stamp},
    }
