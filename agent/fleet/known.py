"""The names of the last fleet resolved here, kept in ``stateDir`` for
shell completion.

Completing an app name must be instant and quiet, so it cannot fetch and
render the apps that declare apps.  Each whole resolve (a command's, the
daemon's background pass) leaves the names it found in
``<stateDir>/fleet.json``; completion offers ``agent.yaml``'s apps, then
those.  Nothing kept (a fresh checkout, a read-only folder) means
``agent.yaml``'s apps alone, never an error.  As ``kubectl`` completes
resource names from what the cluster last answered, not from a new query
per key press (``kubectl completion``'s ``__kubectl_get_resource``).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from agent.config import AgentConfig
from agent.fleet import Fleet

FILE = "fleet.json"


def where(config: AgentConfig) -> Path:
    return config.resolve(config.state_dir) / FILE


def keep(config: AgentConfig, fleet: Fleet) -> None:
    """Write the fleet's names and origins (never raises: completion is a
    convenience, never a reason for a command to fail)."""
    document = {"apps": [{"name": f.app.name, "origin": str(f.origin)} for f in fleet.apps]}
    path = where(config)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".fleet-", delete=False) as f:
            json.dump(document, f)
        try:
            os.replace(f.name, path)  # whole, for a reader at the same moment
        except OSError:
            os.unlink(f.name)
            raise


def known(config: AgentConfig) -> list[str]:
    """``agent.yaml``'s app names, then the last resolved fleet's others."""
    names = [a.name for a in config.apps]
    try:
        document = json.loads(where(config).read_text())
        kept = [str(a["name"]) for a in document["apps"]]
    except (OSError, ValueError, TypeError, KeyError):
        return names
    listed = set(names)
    return names + [n for n in kept if n not in listed]


__all__ = ["FILE", "keep", "known", "where"]
