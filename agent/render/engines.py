"""The renderer engines and their versions, for ``gitops-agent version``.

One renderer ships today: Jinja charts and plain YAML, on the ``jinja2``
package.  Each engine is named with the version of the library (or binary)
that does its work, read from the installed distribution, never imported.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def engine_versions() -> dict[str, str]:
    """Name -> version of each renderer engine."""
    try:
        jinja = version("jinja2")
    except PackageNotFoundError:  # pragma: no cover - a dependency of the agent
        jinja = "unknown"
    return {"jinja": jinja}
