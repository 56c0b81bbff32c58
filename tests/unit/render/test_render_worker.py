"""The render worker's life beside the agent's own signal handling."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.render import chart, cm
from tests.support.repos import PROJECT

# A process that, like the daemon, handles SIGTERM itself (and keeps going),
# renders one chart (forking a worker), then ends: it must end at once, not
# wait for a worker that took the agent's SIGTERM handler with it.
PROGRAM = textwrap.dedent(
    """
    import signal, sys
    from pathlib import Path
    from agent.render import Release, RenderRequest, render
    signal.signal(signal.SIGTERM, lambda *_: print("agent handler ran in", __import__("os").getpid()))
    result = render(RenderRequest(root=Path(sys.argv[1]), path="chart", release=Release("r", "ns")))
    print(len(result.manifests))
    """
)


def test_an_agent_that_handles_sigterm_still_ends_with_its_render_workers(tmp_path: Path) -> None:
    root = chart(tmp_path, {"cm.yaml": cm("x")})
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(root)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["1"]  # the worker never ran the agent's handler


# A pipe opened, as subprocess.Popen opens one to learn that its child has
# started, while a render forks its worker; once the opener closes its end,
# the reader must see the end of the pipe: the worker holds no copy of it.
PIPE_PROGRAM = textwrap.dedent(
    """
    import os, select, sys
    from pathlib import Path
    from agent.render import Release, RenderRequest, render
    r, w = os.pipe()
    render(RenderRequest(root=Path(sys.argv[1]), path="chart", release=Release("r", "ns")))
    os.close(w)
    ready, _, _ = select.select([r], [], [], 20)
    print("closed" if ready and os.read(r, 1) == b"" else "held by the worker")
    """
)


def test_a_worker_keeps_no_copy_of_the_agents_descriptors(tmp_path: Path) -> None:
    root = chart(tmp_path, {"cm.yaml": cm("x")})
    done = subprocess.run(
        [sys.executable, "-c", PIPE_PROGRAM, str(root)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["closed"]


def test_the_default_render_budget_is_thirty_seconds_and_a_gibibyte() -> None:
    """What the README promises (`render --timeout` changes the first)."""
    from agent.render.limits import DEFAULT_LIMITS

    assert DEFAULT_LIMITS.max_seconds == 30
    assert DEFAULT_LIMITS.max_memory_bytes == 1024**3
