"""``gitops-agent health --explain FILE.yaml``: each object's verdict, the rule
that decided it and why — for people writing health rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console

from agent.config import load_config
from agent.config.health import user_rules
from agent.errors import AgentError, ConfigError
from agent.health import UserRules, assess
from agent.redact import redact


def load_objects(path: Path) -> list[dict[str, Any]]:
    """The objects of a YAML file (one or more documents; a ``kind: List`` is unfolded)."""
    try:
        docs = list(yaml.safe_load_all(path.read_text()))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {str(e).splitlines()[0]}") from e
    found: list[dict[str, Any]] = []
    for i, doc in enumerate(d for d in docs if d is not None):
        items = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
        for obj in items or ():
            if not isinstance(obj, dict) or not obj.get("kind") or not obj.get("apiVersion"):
                raise ConfigError(f"{path}: document {i + 1}: not a Kubernetes object (apiVersion and kind)")
            found.append(obj)
    return found


def explain_objects(objects: list[dict[str, Any]], rules: UserRules | None = None) -> list[dict[str, str]]:
    out = []
    for obj in objects:
        health = assess(obj, rules)
        meta = obj.get("metadata") or {}
        name = "/".join(str(p) for p in (meta.get("namespace"), meta.get("name")) if p)
        out.append(
            {
                "object": f"{obj['kind']}/{name}" if name else str(obj["kind"]),
                "apiVersion": str(obj["apiVersion"]),
                "health": health.status.label,
                "rule": health.rule,
                "why": health.message,
            }
        )
    return out


def explain_text(rows: list[dict[str, str]], as_json: bool = False) -> str:
    if as_json:
        return json.dumps(rows, indent=2)
    return "\n".join(
        f"{r['object']} ({r['apiVersion']}): {r['health']}\n  rule: {r['rule']}\n  why:  {r['why'] or '-'}"
        for r in rows
    )


def health_command(explain: Path, config: Path, as_json: bool) -> None:
    """``gitops-agent health``: the config's rules (when the file exists) first."""
    try:
        cfg = load_config(config) if config.exists() else None
        rules = user_rules(cfg.health, cfg.base_dir) if cfg is not None else None
        text = explain_text(explain_objects(load_objects(explain), rules), as_json)
    except AgentError as e:
        Console(stderr=True).print(f"error: {redact(str(e))}", markup=False, highlight=False)
        raise typer.Exit(3) from None  # ExitCode.ERROR: an error before any change
    Console(highlight=False, soft_wrap=True).print(text, markup=False)
