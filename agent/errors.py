"""The one error tree of the agent: every error names the stage it came from.

``AgentError`` is the root.  Each stage of the pipeline raises its own
subclass (``SourceFailed``, ``RenderFailed``, ``PlanRefused``,
``ApplyFailed``, ``HealthTimeout``, ``RecordFailed``); a configuration that
cannot be used is a ``ConfigError``; the API server's own answers (a
``kind: Status``) are :class:`ClusterError` and its subclasses in
:mod:`agent.kube.errors`, with ``ClusterUnavailable`` for a cluster that does
not answer.  :meth:`AgentError.failure` turns any of them into the
:class:`~agent.results.Failure` that results and reports carry, so one
``except AgentError`` is enough wherever a stage is called.

Messages pass through :func:`~agent.redact.redact`: no credential reaches an
error.
"""

from __future__ import annotations

from agent.redact import redact
from agent.results import Failure, Reason, Stage


class AgentError(Exception):
    stage: Stage = Stage.CONFIG
    failure_reason: Reason | None = None  # None: the stage's usual reason

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self)

    def failure(self) -> Failure:
        return Failure(self.stage, self.message, self.failure_reason)


class ConfigError(AgentError):
    stage = Stage.CONFIG


class SourceFailed(AgentError):
    stage = Stage.SOURCE


class RenderFailed(AgentError):
    stage = Stage.RENDER


class PlanRefused(AgentError):
    """The plan must not run: conflicts, or a prune the guards refuse."""

    stage = Stage.PLAN


class ApplyFailed(AgentError):
    stage = Stage.APPLY


class HealthTimeout(AgentError):
    stage = Stage.HEALTH
    failure_reason = Reason.HEALTH_TIMEOUT


class RecordFailed(AgentError):
    stage = Stage.RECORD
