"""Render a chart tree: values per chart, schema, CRDs, templates, notes.

For each chart, parent first, then its enabled subcharts by name:

1. its values: its ``values.yaml`` under the layers its parent passes down
   (:mod:`agent.render.values`), checked against its ``values.schema.json``;
2. its ``crds/`` files, read as plain YAML (never templated);
3. unless it is a library chart: every ``templates/**/*.yaml|yml|j2``
   whose name does not start with ``_`` (partials are only imported), with
   ``values``, ``release``, ``chart``, ``capabilities`` and ``files``;
4. for the top chart, ``templates/NOTES.txt`` (or ``NOTES.txt.j2``).

Every failure is a RenderFailed that starts with the chart file and line.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2

from agent.errors import RenderFailed
from agent.models import Manifest
from agent.render import filters, limits
from agent.render.chart import Chart
from agent.render.context import Capabilities, Files, Release
from agent.render.manifests import mark_chart_crds, parse_manifests
from agent.render.paths import read_text, walk_files
from agent.render.sandbox import ChartEnvironment, ChartLoader, environment_for
from agent.render.values import check_values, child_layers, coalesce, load_schema

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".j2")
CRD_SUFFIXES = (".yaml", ".yml", ".json")
NOTES = ("NOTES.txt", "NOTES.txt.j2")

Library = tuple[str, Any, str]  # (key, root, shown)


@dataclass
class Output:
    crds: list[Manifest] = field(default_factory=list)
    manifests: list[Manifest] = field(default_factory=list)
    notes: str = ""


def render_tree(
    chart: Chart, layers: Sequence[Mapping[str, Any]], release: Release, capabilities: Capabilities
) -> Output:
    if chart.library:
        raise RenderFailed(
            f"{chart.shown}: {chart.name} is a library chart: it provides macros to other charts "
            "and renders nothing on its own"
        )
    tree = _Tree(release, capabilities)
    tree.render(chart, list(layers), (), top=True)
    return tree.out


def _libraries(chart: Chart) -> list[Library]:
    """What ``<key>/<template>`` can name from this chart: its subcharts,
    and the dependencies of library subcharts (so a library may build on
    another)."""
    found: list[Library] = []
    for child in chart.children:
        found.append((child.key, child.root, child.shown))
        if child.library:
            found.extend(_libraries(child))
    return found


@dataclass
class _Tree:
    """One render of a chart tree: what every chart in it shares, and the output."""

    release: Release
    capabilities: Capabilities
    out: Output = field(default_factory=Output)

    def render(
        self, chart: Chart, layers: Sequence[Mapping[str, Any]], inherited: tuple[Library, ...], *, top: bool
    ) -> None:
        values = coalesce(chart.defaults, layers)
        schema_file = chart.root / "values.schema.json"
        if schema_file.is_file():
            shown_schema = f"{chart.shown}/values.schema.json"
            check_values(values, load_schema(schema_file, shown_schema), shown_schema)
        libraries = (*_libraries(chart), *inherited)
        self.out.crds.extend(_crds(chart))
        if not chart.library:
            self._templates(chart, values, libraries, top=top)
        parent_layers = [chart.defaults, *layers]
        for child in chart.children:
            if child.enabled_in(values):
                self.render(child, child_layers(parent_layers, child.key), libraries, top=False)

    def _templates(
        self, chart: Chart, values: Mapping[str, Any], libraries: tuple[Library, ...], *, top: bool
    ) -> None:
        env = environment_for(chart.root, chart.shown, libraries, filters.install)
        context = {
            "values": values,
            "release": self.release,
            "chart": chart.meta,
            "capabilities": self.capabilities,
            "files": Files(chart.root, chart.shown),
        }
        notes: list[str] = []
        for rel, _ in walk_files(
            chart.root / "templates", f"{chart.shown}/templates", boundary=chart.root, scope="chart"
        ):
            name = rel.rsplit("/", 1)[-1]
            if name in NOTES:
                if top and rel in NOTES:
                    notes.append(_run(env, rel, context, f"{chart.shown}/templates/{rel}"))
                continue
            if name.startswith("_") or not name.endswith(TEMPLATE_SUFFIXES):
                continue
            shown_file = f"{chart.shown}/templates/{rel}"
            text = _run(env, rel, context, shown_file)
            self.out.manifests.extend(parse_manifests(text, shown_file, rendered=True))
        if top:
            self.out.notes = "".join(notes).strip("\n")


def _crds(chart: Chart) -> list[Manifest]:
    folder = chart.root / "crds"
    if not folder.is_dir():
        return []
    budget = limits.current()
    found: list[Manifest] = []
    for rel, real in walk_files(folder, f"{chart.shown}/crds", boundary=chart.root, scope="chart"):
        if not rel.endswith(CRD_SUFFIXES):
            continue
        shown = f"{chart.shown}/crds/{rel}"
        text = read_text(real, shown, budget.limits.max_output_bytes)
        budget.add_output(len(text))
        found.extend(parse_manifests(text, shown))
    return mark_chart_crds(found, chart.name)


def _run(env: ChartEnvironment, name: str, context: dict[str, Any], shown_file: str) -> str:
    budget = limits.current()
    loader = env.loader
    if not isinstance(loader, ChartLoader):
        raise TypeError("a chart environment has a chart loader")
    chunks: list[str] = []
    try:
        template = env.get_template(name)
        for chunk in template.generate(context):
            budget.add_output(len(chunk))
            chunks.append(chunk)
        budget.check_time()
    except jinja2.TemplateSyntaxError as e:
        where = e.filename if e.filename in loader.shown_files else shown_file
        raise RenderFailed(f"{where}:{e.lineno}: {e.message}") from None
    except jinja2.TemplateNotFound as e:
        where = _location(e, loader) or shown_file
        if e.name != name:  # asked by include() or tpl: the name may be any value, a secret too
            outside = (
                " (outside the chart; refused)"
                if str(e.message).endswith("(outside the chart; refused)")
                else ""
            )
            raise RenderFailed(
                f"{where}: template not found: no template of that name in the chart{outside}"
            ) from None
        raise RenderFailed(f"{where}: template not found: {e.message}") from None
    except RecursionError:
        raise RenderFailed(
            f"{shown_file}: template recursion too deep (an include or macro calls itself?)"
        ) from None
    except MemoryError:
        raise RenderFailed(f"{shown_file}: out of memory while rendering; refused") from None
    except RenderFailed as e:
        raise RenderFailed(f"{_location(e, loader) or shown_file}: {e}") from None
    except jinja2.TemplateError as e:
        raise RenderFailed(f"{_location(e, loader) or shown_file}: {e.message or e}") from None
    except Exception as e:  # a template error Python raised (TypeError, ZeroDivisionError, ...)
        raise RenderFailed(f"{_location(e, loader) or shown_file}: {_python_error(e)}") from None
    return "".join(chunks)


# Python's messages of these errors name types, never the values involved.
_SHOWN_ERRORS = (TypeError, ZeroDivisionError, IndexError, OverflowError)


def _python_error(error: Exception) -> str:
    """What a template error Python raised says: the message when it names
    only types; otherwise the kind of error alone (``unknown encoding: X``,
    a KeyError, ``invalid literal: 'X'`` quote a value, maybe a secret)."""
    name = type(error).__name__
    if type(error) in _SHOWN_ERRORS:
        return f"{name}: {error}"
    return f"{name} (its message is not shown: it may quote a value)"


def _location(exc: BaseException, loader: ChartLoader) -> str:
    """``chart/templates/x.yaml:12`` of the innermost template frame."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename in loader.shown_files:
            return f"{frame.filename}:{frame.lineno}"
    return ""
