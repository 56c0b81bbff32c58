"""A list's or a watch's options checked as apimachinery's ``ValidateListOptions`` does.

``resourceVersionMatch`` (``Exact``, ``NotOlderThan``) needs a ``resourceVersion``
and no ``continue``, and is no watch's option unless the watch sends its initial
events; ``sendInitialEvents`` is a watch's only, with ``resourceVersionMatch=
NotOlderThan`` and bookmarks.  A refusal is a 422 on ``ListOptions.meta.k8s.io``
naming each option, as the API server's.
"""

from __future__ import annotations

from starlette.datastructures import QueryParams

from agent.emulator.admission.causes import Cause, forbidden, unsupported
from agent.kube.errors import BadRequest, Invalid

MATCHES = ("Exact", "NotOlderThan")


def check(q: QueryParams, *, watch: bool) -> None:
    causes: list[Cause] = []
    match, rv = q.get("resourceVersionMatch") or "", q.get("resourceVersion") or ""
    initial = q.get("sendInitialEvents")
    if match:
        if watch and initial is None:
            detail = "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"
            causes.append(forbidden("resourceVersionMatch", detail))
        if not rv:
            causes.append(
                forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            )
        if q.get("continue"):
            causes.append(
                forbidden(
                    "resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"
                )
            )
        if match not in MATCHES:
            causes.append(unsupported("resourceVersionMatch", match, (*MATCHES, "")))
        elif match == "Exact" and rv == "0":
            causes.append(
                forbidden(
                    "resourceVersionMatch",
                    'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
                )
            )
    if initial is not None:
        if not watch:
            causes.append(forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
        elif match != "NotOlderThan":
            causes.append(
                forbidden(
                    "resourceVersionMatch",
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                )
            )
        elif q.get("allowWatchBookmarks") not in ("true", "1"):  # one complaint at a time, as the server
            causes.append(
                forbidden(
                    "allowWatchBookmarks", "sendInitialEvents requires setting allowWatchBookmarks to true"
                )
            )
    if causes:
        body = causes[0].text() if len(causes) == 1 else "[" + ", ".join(c.text() for c in causes) + "]"
        listed = [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes]
        raise Invalid(
            f'ListOptions.meta.k8s.io "" is invalid: {body}',
            details={"group": "meta.k8s.io", "kind": "ListOptions", "causes": listed},
        )


def exact(q: QueryParams) -> int | None:
    """The resourceVersion a list is read at (``resourceVersionMatch=Exact``), if any."""
    if q.get("resourceVersionMatch") != "Exact":
        return None
    try:
        return int(q.get("resourceVersion") or "")
    except ValueError:
        raise BadRequest(f"invalid resource version: {q.get('resourceVersion')}") from None
