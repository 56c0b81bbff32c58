"""The JSON Schema of ``agent.yaml``, generated from the pydantic models.

``gitops-agent config schema`` prints it, and the repository carries it as
``templates/agent.schema.json`` (shipped in the package) so editors check
the file as it is written: with the YAML language server, a first line
``# yaml-language-server: $schema=<path or URL of agent.schema.json>``.
A test keeps the file equal to what the models give.
"""

from __future__ import annotations

import json
from typing import Any

from agent.config import AgentConfig

SCHEMA_ID = "https://gitops-agent.io/schemas/agent.schema.json"
INTERNAL = ("baseDir",)  # set by the loader (the file's folder), never written


def json_schema() -> dict[str, Any]:
    """The schema of what a configuration file may hold (camelCase keys)."""
    schema = AgentConfig.model_json_schema(by_alias=True, mode="validation")
    for name in INTERNAL:
        schema.get("properties", {}).pop(name, None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **{k: v for k, v in schema.items() if k not in ("title",)},
        "title": "gitops-agent configuration (agent.yaml)",
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"
