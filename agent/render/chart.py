"""Helm-like charts written in Jinja.

A chart is a folder with ``Chart.yaml``, ``values.yaml`` and ``templates/``.
Every ``templates/*.yaml|*.yml|*.j2`` file is rendered; files whose name
starts with ``_`` are partials (macros), only imported.

Values, lowest precedence first: the chart's ``values.yaml``, then the app's
values files in order, then the app's inline values.  Maps merge deeply and
``null`` deletes a key, as in Helm.

Templates run in Jinja's ``ImmutableSandboxedEnvironment`` with
``StrictUndefined``: an undefined value is an error naming the template and
line.  The loader only reads files inside the chart.
"""

from __future__ import annotations

import base64
import hashlib
import json
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import yaml
from jinja2.exceptions import SecurityError

from agent.errors import RenderError
from agent.models import Manifest
from agent.render.manifests import load_yaml_documents, parse_manifests

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".j2")


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    revision: int = 1
    is_install: bool = True

    @property
    def is_upgrade(self) -> bool:
        return not self.is_install


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base``; maps merge, ``None`` deletes."""
    out = dict(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_values_file(path: Path, shown: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RenderError(f"{shown}: values file not found") from None
    except OSError as e:
        raise RenderError(f"{shown}: cannot read: {e.strerror}") from None
    docs = load_yaml_documents(text, shown)
    data = docs[0] if docs else None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RenderError(f"{shown}: values must be a mapping")
    return data


class _ChartLoader(jinja2.BaseLoader):
    """Loads templates by chart-relative path; refuses anything (including
    a symlink target) outside the chart."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        candidates = [template, f"templates/{template}"]
        for name in candidates:
            path = (self.root / name).resolve()
            if not path.is_relative_to(self.root):
                raise jinja2.TemplateNotFound(f"{template} (outside the chart; refused)")
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                mtime = path.stat().st_mtime
                return text, str(path), _unchanged(path, mtime)
        raise jinja2.TemplateNotFound(template)


def _unchanged(path: Path, mtime: float) -> Callable[[], bool]:
    return lambda: path.exists() and path.stat().st_mtime == mtime


def _to_yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=False).rstrip("\n")


def _indent(text: str, width: int = 4) -> str:
    pad = " " * width
    return "\n".join(pad + line if line else line for line in str(text).splitlines())


def _nindent(text: str, width: int = 4) -> str:
    return "\n" + _indent(text, width)


def _squote(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _trunc(value: Any, length: int = 63) -> str:
    """Cut a name to ``length`` (63: a DNS label) without a trailing '-'."""
    return str(value)[:length].rstrip("-")


def _quote(value: Any) -> str:
    return json.dumps("" if value is None else str(value))


def _b64enc(value: Any) -> str:
    return base64.b64encode(str(value).encode()).decode()


def _b64dec(value: Any) -> str:
    return base64.b64decode(str(value)).decode()


def _required(value: Any, message: str = "a required value is missing") -> Any:
    if value is None or isinstance(value, jinja2.Undefined) or value == "":
        raise RenderError(message)
    return value


def _fail(message: str) -> None:
    raise RenderError(message)


def _environment(root: Path) -> jinja2.Environment:
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        loader=_ChartLoader(root),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(
        {
            "to_yaml": _to_yaml,
            "toYaml": _to_yaml,
            "to_json": lambda v: json.dumps(v, sort_keys=True),
            "from_yaml": yaml.safe_load,
            "from_json": json.loads,
            "indent": _indent,
            "nindent": _nindent,
            "quote": _quote,
            "squote": _squote,
            "b64enc": _b64enc,
            "b64dec": _b64dec,
            "sha256sum": lambda v: hashlib.sha256(str(v).encode()).hexdigest(),
            "required": _required,
            "trunc": _trunc,
        }
    )
    env.globals.update({"fail": _fail, "required": _required})
    return env


def _template_location(exc: BaseException, root: Path) -> str:
    """The chart-relative file and line of a runtime template error."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename)
        if path.is_absolute() and path.is_relative_to(root.resolve()):
            return f"{path.relative_to(root.resolve())}:{frame.lineno}"
    return ""


def render_chart(root: Path, shown: str, release: Release, values: Mapping[str, Any]) -> list[Manifest]:
    """Render the chart at ``root``; ``shown`` is its path as users see it."""
    chart = _load_chart_yaml(root, shown)
    templates_dir = root / "templates"  # may be absent: a chart of nothing renders nothing, as in Helm
    env = _environment(root)
    context = {
        "values": values,
        "Values": values,
        "release": release,
        "chart": chart,
    }
    manifests: list[Manifest] = []
    for path in sorted(templates_dir.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or path.name.startswith("_") or path.suffix not in TEMPLATE_SUFFIXES:
            continue
        shown_file = f"{shown}/{rel}"
        try:
            text = env.get_template(rel).render(context)
        except jinja2.TemplateSyntaxError as e:
            raise RenderError(
                f"{shown}/{_relative(e.filename, root) or rel}:{e.lineno}: {e.message}"
            ) from None
        except jinja2.TemplateNotFound as e:
            raise RenderError(f"{shown_file}: template not found: {e.message}") from None
        except RenderError as e:
            where = _template_location(e, root) or rel
            raise RenderError(f"{shown}/{where}: {e}") from None
        except (
            jinja2.TemplateError,
            SecurityError,
            ArithmeticError,
            TypeError,
            ValueError,
        ) as e:
            where = _template_location(e, root) or rel
            message = getattr(e, "message", None) or str(e)
            raise RenderError(f"{shown}/{where}: {message}") from None
        except RecursionError:
            raise RenderError(f"{shown_file}: template recursion too deep") from None
        manifests.extend(parse_manifests(text, shown_file))
    return manifests


def _relative(filename: str | None, root: Path) -> str:
    if not filename:
        return ""
    path = Path(filename)
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def _load_chart_yaml(root: Path, shown: str) -> dict[str, Any]:
    docs = load_yaml_documents((root / "Chart.yaml").read_text(encoding="utf-8"), f"{shown}/Chart.yaml")
    chart = docs[0] if docs else None
    if not isinstance(chart, dict):
        raise RenderError(f"{shown}/Chart.yaml: must be a mapping with name and version")
    for field in ("name", "version"):
        if not chart.get(field):
            raise RenderError(f"{shown}/Chart.yaml: missing {field}")
    return chart


def chart_values(root: Path, shown: str, layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    defaults = root / "values.yaml"
    if defaults.is_file():
        values = load_values_file(defaults, f"{shown}/values.yaml")
    for layer in layers:
        values = deep_merge(values, layer)
    return values
