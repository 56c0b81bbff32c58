"""A chart stuck in one long operation is stopped at its time budget (30 s
by default), from the command line as from the daemon: the render runs in a
worker process that is killed past the deadline."""

from __future__ import annotations

from pathlib import Path

from tests.support.commands import agent

# one division of two numbers of 16 and 8 million bits: minutes inside the interpreter
RUNAWAY = (
    "{% set a = ('f' * 4000000) | int(base=16) %}{% set b = ('e' * 2000000) | int(base=16) %}"
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {v: '{{ a % b }}'}\n"
)


def test_the_render_command_stops_a_runaway_chart_at_its_budget(tmp_path: Path) -> None:
    chart = tmp_path / "runaway"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: runaway\nversion: 1.0.0\n")
    (chart / "templates" / "cm.yaml").write_text(RUNAWAY)
    done = agent("render", str(chart))  # the helper gives up after 120 s: on a hang, the test fails
    assert done.returncode == 3, done.stderr
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"error: {chart}: rendering took longer than 30 s; stopped"
    ], done.stderr
