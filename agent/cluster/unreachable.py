"""A cluster that could not be connected to: every question raises why.

A command over apps on several clusters connects to each; when one of them
cannot be (its kubeconfig is missing, its context unknown), the apps on it
fail with that error, as any stage's error fails an app, and the apps on the
other clusters carry on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

from agent.cluster.base import FIELD_MANAGER, JSON
from agent.errors import AgentError
from agent.kube.kinds import ResourceType


class Unreachable:
    """A :class:`~agent.cluster.base.ClusterClient` whose every call raises ``error``."""

    def __init__(self, error: AgentError) -> None:
        self.error = error

    def _fail(self) -> NoReturn:
        raise self.error

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        self._fail()

    def server_version(self) -> str:
        self._fail()

    def server_info(self) -> tuple[str, list[str]]:
        self._fail()

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> JSON | None:
        self._fail()

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: Mapping[str, str] | None = None,
    ) -> list[JSON]:
        self._fail()

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: Mapping[str, str] | str | None = None,
        *,
        timeout: float = 60,
        stop: threading.Event | None = None,
    ) -> Iterator[tuple[str, JSON]]:
        self._fail()

    def create(
        self, obj: Mapping[str, Any], *, field_manager: str = FIELD_MANAGER, dry_run: bool = False
    ) -> JSON:
        self._fail()

    def replace(
        self, obj: Mapping[str, Any], *, field_manager: str = FIELD_MANAGER, dry_run: bool = False
    ) -> JSON:
        self._fail()

    def patch(  # noqa: PLR0913 - the protocol's parameters
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str,
        patch: Any,
        *,
        patch_type: str = "merge",
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
    ) -> JSON:
        self._fail()

    def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
    ) -> JSON:
        self._fail()

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str = "",
        *,
        dry_run: bool = False,
        propagation_policy: str | None = None,
    ) -> JSON | None:
        self._fail()

    def close(self) -> None:
        """Nothing was opened."""
