"""Helpers shared by the render tests: write a chart, render it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.render import Release, RenderRequest, RenderResult, render
from tests.support.repos import PROJECT

FIXTURES = PROJECT / "tests" / "unit" / "render" / "fixtures"


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def chart(root: Path, templates: dict[str, str], values: str = "", name: str = "demo") -> Path:
    """A chart at ``root/chart`` with the given templates (and values.yaml)."""
    files = {"chart/Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: 1.0.0\nappVersion: '2.0'\n"}
    if values:
        files["chart/values.yaml"] = values
    files.update({f"chart/templates/{k}": v for k, v in templates.items()})
    return write(root, files)


def run(root: Path, path: str = "chart", **kw: Any) -> RenderResult:
    kw.setdefault("release", Release("rel", "team"))
    return render(RenderRequest(root=root, path=path, **kw))


def by_name(result: RenderResult) -> dict[str, dict[str, Any]]:
    return {f"{m.obj['kind']}/{m.obj['metadata']['name']}": m.obj for m in result.manifests}


def cm(name: str, data: str = "{}") -> str:
    """A ConfigMap template; ``data`` is a YAML flow mapping (may hold Jinja)."""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata: {data}\n"
