"""A cluster that could not be connected to: every question raises why.

A command over apps on several clusters connects to each; when one of them
cannot be (its kubeconfig is missing, its context unknown), the apps on it
fail with that error, as any stage's error fails an app, and the apps on the
other clusters carry on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, cast

from agent.cluster.base import ClusterClient
from agent.errors import AgentError

# the verbs of the client protocol: each one raises (a view's verbs, such as
# list_at, are not among them, so no shared view is put in front of this client)
VERBS = frozenset(name for name in vars(ClusterClient) if not name.startswith("_")) - {"close"}


class Unreachable:
    """A :class:`~agent.cluster.base.ClusterClient` whose every call raises
    ``error``; :func:`unreachable` gives it the protocol's type."""

    def __init__(self, error: AgentError) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Callable[..., NoReturn]:
        if name not in VERBS:
            raise AttributeError(name)

        def fail(*_args: Any, **_kwargs: Any) -> NoReturn:
            raise self.error

        return fail

    def close(self) -> None:
        """Nothing was opened."""


def unreachable(error: AgentError) -> ClusterClient:
    return cast(ClusterClient, Unreachable(error))
