"""An exception no stage turned into an error: one line, exit 4, the traceback in a log."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import agent.config
from agent.cli import run_command
from agent.exits import ExitCode


def test_an_unexpected_exception_is_one_error_line_and_exit_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(path: object) -> None:  # stands for a bug no test has found yet
        raise AttributeError("'NoneType' object has no attribute 'groupdict'")

    monkeypatch.setattr(agent.config, "load_config", broken)
    code = run_command(["diff", "--config", str(tmp_path / "agent.yaml")])
    assert code == ExitCode.INTERNAL == 4
    assert code != ExitCode.DRIFT
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: internal error (AttributeError:")
    log = Path(re.findall(r"the details are in (\S+)$", lines[0])[0])
    try:
        assert "Traceback" in log.read_text() and "broken" in log.read_text()
        assert log.stat().st_mode & 0o077 == 0
    finally:
        log.unlink()
