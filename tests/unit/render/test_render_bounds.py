"""Work a template decides is bounded: integers in bits, every step under the clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import RenderFailed
from agent.render import Limits
from tests.support.render import run, write

CHART = "apiVersion: v2\nname: c\nversion: 1.0.0\n"


def chart(root: Path, expr: str) -> Path:
    cm = f'apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata: {{v: "{expr}"}}\n'
    return write(root, {"c/Chart.yaml": CHART, "c/templates/cm.yaml": cm})


@pytest.mark.parametrize(
    "expr",
    [
        # squaring in a loop: 28 steps would make a number of 2**28 * 1.6 bits
        "{% set ns = namespace(x=3) %}{% for i in range(28) %}{% set ns.x = ns.x * ns.x %}"
        "{% endfor %}{{ ns.x }}",
        "{% set ns = namespace(x=7) %}{% for i in range(5000) %}{% set ns.x = ns.x * 1000 %}"
        "{% endfor %}{{ ns.x }}",
        "{% set a = 2 ** 2047 %}{{ a * a * a }}",
    ],
)
def test_integers_are_bounded_in_bits(tmp_path: Path, expr: str) -> None:
    with pytest.raises(
        RenderFailed, match=r"would be a number of about [\d,]+ bits \(limit 4,096\); refused"
    ):
        run(chart(tmp_path, expr), "c")


def test_a_float_out_of_range_is_a_render_error(tmp_path: Path) -> None:
    with pytest.raises(RenderFailed, match="too large a number"):
        run(chart(tmp_path, "{{ 10.0 ** 400 }}"), "c")


def test_integers_within_the_limit_still_work(tmp_path: Path) -> None:
    out = run(chart(tmp_path, "{{ (2 ** 100) * 3 + 1 }}"), "c")
    assert out.manifests[0].obj["data"] == {"v": str(2**100 * 3 + 1)}


def test_the_clock_is_checked_at_every_step(tmp_path: Path) -> None:
    """Few steps, each of them slow: the budget still stops the render
    (a check every thousand steps let this one run to its end)."""
    expr = (
        "{% set s = 'x' * 2000000 %}{% for i in range(400) %}{% set t = s.replace('x', 'yy') %}{% endfor %}ok"
    )
    with pytest.raises(RenderFailed, match=r"rendering took longer than 0\.1 s; stopped"):
        run(chart(tmp_path, expr), "c", limits=Limits(max_seconds=0.1))


@pytest.mark.parametrize(
    "expr",
    ["{{ ''|attr('__class__') }}", "{{ values.__init__ }}", "{{ self._TemplateReference__context }}"],
)
def test_python_internals_are_an_error_not_an_empty_string(tmp_path: Path, expr: str) -> None:
    with pytest.raises(RenderFailed, match="unsafe"):
        run(chart(tmp_path, expr), "c")


@pytest.mark.parametrize(
    "expr", ["{{ semver(values.s) }}", "{{ include(values.s) }}", "{{ files.get(values.s) }}"]
)
def test_errors_do_not_quote_the_values_passed(tmp_path: Path, expr: str) -> None:
    root = chart(tmp_path, expr)
    (root / "c" / "values.yaml").write_text("s: hunter2-not-shown\n")
    with pytest.raises(RenderFailed) as e:
        run(root, "c")
    assert "hunter2" not in str(e.value)
