"""Work a template decides is bounded: integers in bits, every step under the clock."""

from __future__ import annotations

import re
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
    "expr",
    [
        "{{ semver(values.s) }}",
        "{{ include(values.s) }}",
        "{{ files.get(values.s) }}",
        # a key computed from the values is not named when it is missing
        "{{ values[values.s] }}",
        "{{ values.d[values.s] }}",
        "{{ values.d[values.s | upper] }}",
        "{% set k = values.s %}{{ values.d[k] }}",
        "{{ values.l[values.n] }}",
        "{{ values.s | attr(values.s) }}",
        "{{ values.l | sort(attribute=values.s) }}",
        "{{ tpl(values.t) }}",
        # Python's messages that quote what they were given are not shown
        "{{ values.s.encode(values.s) }}",
    ],
)
def test_errors_do_not_quote_the_values_passed(tmp_path: Path, expr: str) -> None:
    root = chart(tmp_path, expr)
    (root / "c" / "values.yaml").write_text(
        "s: hunter2-not-shown\nn: 987654\nd: {a: 1}\nl: [{x: 1}, {x: 2}]\n"
        "t: '{{ values.hunter3_not_shown }}'\n"
    )
    for _ in range(2):  # the same message with the chart's compiled templates cached
        with pytest.raises(RenderFailed) as e:
            run(root, "c")
        message = str(e.value)
        assert message.startswith("c/templates/cm.yaml:4: ")
        for secret in ("hunter", "HUNTER", "987654"):
            assert secret not in message


@pytest.mark.parametrize(
    ("expr", "shown"),
    [
        ("{{ values.d.missing }}", "'dict object' has no attribute 'missing'"),
        ('{{ values.d["missing"] }}', "'dict object' has no attribute 'missing'"),
        ("{{ values.l[5] }}", "list object has no element 5"),
        ("{{ values.l | sort(attribute='x.y') }}", "'dict object' has no attribute 'y'"),
    ],
)
def test_a_key_the_template_spells_out_is_named(tmp_path: Path, expr: str, shown: str) -> None:
    root = chart(tmp_path, expr)
    (root / "c" / "values.yaml").write_text("d: {a: 1}\nl: [{x: {a: 1}}, {x: {a: 2}}]\n")
    with pytest.raises(RenderFailed, match=re.escape(f"c/templates/cm.yaml:4: {shown}")):
        run(root, "c")


RUNAWAY = {
    # one division of two numbers of 16 and 8 million bits: minutes inside the interpreter,
    # where no per-step check can reach (the result's size is checked only once it is made)
    "a division of huge numbers": "{% set a = ('f' * 4000000) | int(base=16) %}"
    "{% set b = ('e' * 2000000) | int(base=16) %}{{ a % b }}",
    # two distinct structures sharing their halves: one == walks 2**40 leaves
    "comparing deeply shared structures": "{% set ns = namespace(a=[1], b=[1]) %}"
    "{% for i in range(40) %}{% set ns.a = [ns.a, ns.a] %}{% set ns.b = [ns.b, ns.b] %}{% endfor %}"
    "{{ ns.a == ns.b }}",
}


@pytest.mark.parametrize("expr", RUNAWAY.values(), ids=RUNAWAY.keys())
def test_one_long_operation_is_stopped_when_the_budget_runs_out(tmp_path: Path, expr: str) -> None:
    """The render runs in a worker process that is killed past its deadline."""
    root = chart(tmp_path, expr)
    with pytest.raises(RenderFailed, match=r"^c: rendering took longer than 1 s; stopped$"):
        run(root, "c", limits=Limits(max_seconds=1))
    # the next render gets a fresh worker and works
    (root / "c" / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {v: ok}\n"
    )
    assert run(root, "c").manifests[0].obj["data"] == {"v": "ok"}


def test_a_render_beyond_its_memory_budget_is_stopped(tmp_path: Path) -> None:
    """Thirty strings of 10 MB kept in a list: 300 MB, over a 64 MiB budget."""
    expr = (
        "{% set ns = namespace(l=[]) %}{% for i in range(30) %}"
        "{% set ns.l = ns.l + [('x' * 10000000) ~ i] %}{% endfor %}{{ ns.l | length }}"
    )
    with pytest.raises(RenderFailed, match=r"out of memory while rendering; refused"):
        run(chart(tmp_path, expr), "c", limits=Limits(max_memory_bytes=64 * 1024 * 1024))
