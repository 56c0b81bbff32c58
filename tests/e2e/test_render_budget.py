"""A chart stuck in one long operation is stopped at its time budget (30 s
by default), from the command line as from the daemon: the render runs in a
worker process that is killed past the deadline."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.commands import agent
from tests.support.waits import wait_for

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
    # the default budget is 30 s (tests/unit/render); the helper gives up after 120 s: a hang fails
    done = agent("render", str(chart), "--timeout", "3")
    assert done.returncode == 3, done.stderr
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [f"error: {chart}: rendering took longer than 3 s; stopped"], (
        done.stderr
    )


def _children(pid: int) -> list[int]:
    """The processes ``pid`` forked (the agent may run git too: not those)."""
    comm = Path(f"/proc/{pid}/comm").read_text()
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(FileNotFoundError):
                if Path(f"/proc/{child}/comm").read_text() == comm:
                    found.append(int(child))
    return found


def _cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` (0 once it has ended: a warm worker may be replaced)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_a_runaway_render_does_not_outlive_the_agent(tmp_path: Path) -> None:
    """The agent killed (SIGKILL) while its worker is stuck: the kernel kills the worker too."""
    chart = tmp_path / "runaway"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: runaway\nversion: 1.0.0\n")
    (chart / "templates" / "cm.yaml").write_text(RUNAWAY)
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "render", str(chart)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        workers: set[int] = set()

        def busy() -> bool:
            workers.update(_children(proc.pid))  # a short-lived fork may come and go first
            return sum(_cpu_seconds(w) for w in workers) > 1

        # busy in the long operation (not waiting for its job, which would see the pipe close)
        wait_for(busy, timeout=60, what="the render worker to be busy")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    wait_for(lambda: not any(_running(w) for w in workers), timeout=30, what="the worker to end")
