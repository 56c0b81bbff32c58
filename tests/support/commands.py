"""The ``gitops-agent`` command as a user runs it: a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def agent(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "agent", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )
