"""Typed failures: each names the stage it came from and says what to do."""

from __future__ import annotations

from agent.models import Failure, Stage
from agent.redact import redact


class AgentError(Exception):
    stage: Stage = Stage.CLUSTER

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self)

    def failure(self) -> Failure:
        return Failure(self.stage, self.message)


class ConfigError(AgentError):
    stage = Stage.CONFIG


class SourceError(AgentError):
    stage = Stage.SOURCE


class RenderError(AgentError):
    stage = Stage.RENDER


class ApplyError(AgentError):
    stage = Stage.APPLY


class RecordError(AgentError):
    stage = Stage.RECORD
