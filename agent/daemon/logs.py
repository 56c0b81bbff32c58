"""Structured logs: every line names its app, revision and stage.

``logFormat: json`` writes one JSON object per line (for log shippers);
``text`` writes ``time level app=… revision=… stage=… message``.  Messages
pass through :func:`agent.redact.redact` here, the last point before output.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from agent.redact import redact

FIELDS = ("app", "revision", "stage")
EXTRAS = ("trigger", "outcome", "duration", "provider", "apps", "event")
log = logging.getLogger("gitops_agent")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {f: getattr(record, f, None) or "-" for f in FIELDS}
    for extra in EXTRAS:
        value = getattr(record, extra, None)
        if value is not None:
            out[extra] = value
    return out


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            **_fields(record),
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            doc["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        pairs = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{when} {record.levelname.lower():7} {pairs} {redact(record.getMessage())}"
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


def setup(fmt: str = "text", level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The scheduler's own chatter ("Running job …") repeats what our lines say.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)


def app_log(app: str, revision: str | None = None, stage: str = "-", **extra: Any) -> dict[str, Any]:
    """``extra=`` for a log call about one app."""
    return {"extra": {"app": app, "revision": (revision or "-")[:12], "stage": stage, **extra}}
