"""Global options after the command's name, as kubectl takes them."""

from __future__ import annotations

from agent.cli.helptext import hoist_global_options as hoist


def test_global_options_move_before_the_command() -> None:
    assert hoist(["sync", "web", "--context", "prod", "-o", "json"]) == [
        "--context",
        "prod",
        "sync",
        "web",
        "-o",
        "json",
    ]
    assert hoist(["--kubeconfig", "kc", "status", "-q"]) == ["--kubeconfig", "kc", "-q", "status"]
    assert hoist(["diff", "--cluster=b", "-v"]) == ["--cluster=b", "-v", "diff"]


def test_the_emulator_keeps_its_own_and_nothing_after_double_dash_moves() -> None:
    assert hoist(["emulator", "serve", "--kubeconfig", "out"]) == ["emulator", "serve", "--kubeconfig", "out"]
    assert hoist(["emulator", "get", "ns", "-q"]) == ["-q", "emulator", "get", "ns"]
    assert hoist(["render", "x", "--", "--context"]) == ["render", "x", "--", "--context"]
    assert hoist(["--context", "x"]) == ["--context", "x"]
