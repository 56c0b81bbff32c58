"""Outgoing notifications: sync failures, rollbacks and newly detected drift.

Each configured target gets a Slack-compatible or a generic JSON message,
rendered from ``templates/notify-*.json.j2`` and passed through
:func:`agent.redact.redact`, so no secret value leaves in a message.  The
target URL itself is often a secret (Slack's are), so logs name a target by
its ``name`` only.  Sending happens on a small thread pool, with retries
(tenacity) on connection errors, 429 and 5xx, never holding up a reconcile.

A report like the terminal and documents beside it: the daemon decides
*when* to notify, this module *what* a notification says and how it is
delivered (as Flux's notification-controller is apart from its reconcilers).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tenacity import RetryError, retry, retry_if_exception, stop_after_attempt, wait_exponential

from agent.config import Notification
from agent.models import Revision
from agent.redact import redact
from agent.report.templates import render

if TYPE_CHECKING:  # httpx (with pygments, through its command line) loads with the first target
    import httpx

log = logging.getLogger("gitops_agent.notify")


class Retryable(Exception):
    """A failed delivery worth trying again (no connection, 429, 5xx)."""


def message(
    target: Notification,
    event: str,
    app: str,
    revision: Revision | None,
    text: str,
    *,
    objects: Sequence[str] = (),
) -> dict[str, object]:
    """The body sent to one target, from its template, secrets redacted."""
    body = render(
        f"notify-{target.format}.json.j2",
        event=event,
        app=app,
        revision=None if revision is None else {**revision.__dict__, "short": revision.short},
        message=text,
        objects=list(objects),
        time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    doc: dict[str, object] = json.loads(redact(body))
    return doc


class Notifier:
    def __init__(self, targets: Sequence[Notification], *, backoff: float = 1.0) -> None:
        self.targets = list(targets)
        self.backoff = backoff
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="notify") if targets else None
        self._client: httpx.Client | None = None
        if targets:
            import httpx  # noqa: PLC0415 - see above: 4 MiB a daemon without targets need not hold

            self._client = httpx.Client(follow_redirects=False)

    def send(
        self,
        event: str,
        app: str,
        revision: Revision | None,
        text: str,
        objects: Sequence[str] = (),
    ) -> list[Future[bool]]:
        futures = []
        for target in self.targets:
            if event not in target.events or self._pool is None:
                continue
            doc = message(target, event, app, revision, text, objects=objects)
            futures.append(self._pool.submit(self._deliver, target, doc, event, app))
        return futures

    def _deliver(self, target: Notification, doc: dict[str, object], event: str, app: str) -> bool:
        extra = {"app": app, "stage": "notify", "event": event}
        client = self._client
        if client is None:
            return False

        @retry(
            stop=stop_after_attempt(target.retries + 1),
            wait=wait_exponential(multiplier=self.backoff, max=30),
            retry=retry_if_exception(lambda e: isinstance(e, Retryable)),
            reraise=False,
        )
        def post() -> None:
            import httpx  # noqa: PLC0415 - loaded with the client already

            try:
                response = client.post(target.url, json=doc, timeout=target.timeout_seconds)
            except httpx.HTTPError as e:
                raise Retryable(type(e).__name__) from None
            if response.status_code == 429 or response.status_code >= 500:
                raise Retryable(f"HTTP {response.status_code}")
            if response.status_code >= 400:
                raise PermissionError(f"HTTP {response.status_code}")

        try:
            post()
        except RetryError as e:
            cause = e.last_attempt.exception()
            log.warning("notification %s not delivered after retries: %s", target.name, cause, extra=extra)
            return False
        except PermissionError as e:
            log.warning("notification %s refused: %s", target.name, e, extra=extra)
            return False
        log.info("notification %s delivered", target.name, extra=extra)
        return True

    def close(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=not wait)
        if self._client is not None:
            self._client.close()
