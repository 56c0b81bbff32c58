"""Requests to the API server over the official client's own connections.

The official client builds every request through layers made for its
generated models: the body is walked to "sanitize" it, parameters are
re-tupled, the URL is parsed again by the pool manager, the response is
wrapped twice.  For a write whose body is already plain JSON that costs
about half a millisecond of CPU per request, which is more than the emulated
cluster needs to store a ConfigMap, so a sync of a thousand objects waited on
its own client rather than on the server.

:class:`Transport` sends requests itself (reads, writes and watches of
kinds whose endpoints are known), through the same
``ApiClient``: its configuration (host, the bearer token with its refresh
hook, default headers, user agent, retries) and its urllib3 pool manager
(TLS context, client certificates, proxy).  Only the composition of the
request is done here.  Errors become :class:`ClusterError` from the
``kind: Status`` body, as with the client.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from agent.cluster.base import JSON
from agent.kube.errors import ClusterError, ClusterUnavailable, error_from_status


class Transport:
    def __init__(self, api_client: k8s.ApiClient) -> None:
        self.api_client = api_client
        self.configuration = api_client.configuration
        self._base = (urllib3.util.parse_url(self.configuration.host).path or "").rstrip("/")
        self._host_pool: urllib3.connectionpool.HTTPConnectionPool | None = None

    def _pool(self) -> urllib3.connectionpool.HTTPConnectionPool | None:
        """The connection pool of the API server's host, from the client's
        pool manager (its TLS settings and size), asked for once: the
        manager's own path parses the URL and keys its pools again for every
        request.  None through a proxy."""
        manager = self.api_client.rest_client.pool_manager
        if isinstance(manager, urllib3.ProxyManager):
            return None
        if self._host_pool is None:
            self._host_pool = manager.connection_from_url(self.configuration.host)
        return self._host_pool

    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {
            **self.api_client.default_headers,
            "Accept": "application/json",
            "User-Agent": self.api_client.user_agent,
        }
        if content_type:
            headers["Content-Type"] = content_type
        # auth_settings() calls the token refresh hook, as every request of the client does
        for setting in self.configuration.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        return headers

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str | None = "application/json",
        query: Mapping[str, str | None] | None = None,
    ) -> JSON | None:
        """One request; the response's JSON (None when it had no body)."""
        response = self._request(method, path, body, content_type, query, stream=False)
        data = response.data
        return json.loads(data) if data else None

    def open(self, path: str, *, query: Mapping[str, str | None] | None = None) -> urllib3.BaseHTTPResponse:
        """A GET whose body is read as it comes (a watch): the open response,
        which the caller reads, closes and releases."""
        return self._request("GET", path, None, None, query, stream=True)

    def _request(
        self,
        method: str,
        path: str,
        body: Any,
        content_type: str | None,
        query: Mapping[str, str | None] | None,
        *,
        stream: bool,
    ) -> urllib3.BaseHTTPResponse:
        params = {k: v for k, v in (query or {}).items() if v is not None}
        target = path + ("?" + urlencode(params) if params else "")
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        kwargs: dict[str, Any] = {}
        if self.configuration.retries is not None:
            kwargs["retries"] = self.configuration.retries
        headers = self._headers(content_type if body is not None else None)
        try:
            pool = self._pool()
            if pool is not None:  # straight to the host's connection pool
                response = pool.urlopen(
                    method,
                    self._base + target,
                    body=payload,
                    headers=headers,
                    redirect=False,
                    assert_same_host=False,
                    preload_content=not stream,
                    **kwargs,
                )
            else:  # through a proxy: the pool manager adds what the proxy needs
                response = self.api_client.rest_client.pool_manager.request(
                    method,
                    self.configuration.host + target,
                    body=payload,
                    headers=headers,
                    preload_content=not stream,
                    **kwargs,
                )
        except urllib3.exceptions.HTTPError as e:
            raise ClusterUnavailable(f"the cluster cannot be reached: {e}") from None
        if 200 <= response.status < 300:
            return response
        data = response.data if not stream else response.read()
        if stream:
            response.release_conn()
        raise _status_error(response.status, response.reason, data, response.headers.get("Retry-After"))


def _status_error(code: int, reason: str | None, data: bytes, retry_after: str | None) -> ClusterError:
    try:
        body = json.loads(data) if data else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict) or body.get("kind") != "Status":
        body = {"message": f"HTTP {code}: {reason or ''}".strip()}
    if retry_after and retry_after.isdigit() and "retryAfterSeconds" not in (body.get("details") or {}):
        body = {**body, "details": {**(body.get("details") or {}), "retryAfterSeconds": int(retry_after)}}
    return error_from_status(body, code)


def api_error(e: ApiException) -> ClusterError:
    """The ClusterError of a request the official client made (discovery)."""
    try:
        body = json.loads(e.body) if e.body else {}
    except (TypeError, ValueError):
        body = {}
    if isinstance(body, dict) and body.get("kind") == "Status":
        return error_from_status(body, int(e.status or 500))
    message = f"HTTP {e.status}: {e.reason}"
    return error_from_status({"message": message}, int(e.status or 500))


# -- streamed responses (watches) ---------------------------------------------------------------
def lines(response: Any) -> Iterator[bytes]:
    """The lines of a streamed response, as the server flushes them."""
    pending = b""
    for chunk in response.stream(amt=None, decode_content=True):
        pending += chunk
        *whole, pending = pending.split(b"\n")
        yield from (line for line in whole if line.strip())
    if pending.strip():
        yield pending


def shut_when_stopped(response: Any, stop: threading.Event, ended: threading.Event) -> None:
    """Shut the response's socket for reading when ``stop`` is set, which ends
    a read that is waiting for the server; returns when the stream ends anyway."""
    while not ended.is_set():
        if stop.wait(0.25):
            if not ended.is_set():
                with contextlib.suppress(Exception):  # already released, closed or never connected
                    response.shutdown()
            return
