"""The helm binary for the Helm chart tests.

``GITOPS_AGENT_HELM`` or ``helm`` on PATH when there is one; otherwise the
pinned release (:data:`VERSION`) built from Helm's Go modules into
``~/.cache/gitops-agent-test/helm-<version>/helm`` on first use (``python -m
tests.support.helm build`` does it from a shell; the Go module proxy is the
only network it needs), as the real API server is built.  Where neither Go
nor a binary exists, :func:`unavailable` names what is missing and the
tests that need Helm skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.support.apiserver import cache_dir

VERSION = "v4.3.2"
MODULE = "helm.sh/helm/v4"


def built_path() -> Path:
    return cache_dir() / f"helm-{VERSION}" / "helm"


def found() -> Path | None:
    chosen = os.environ.get("GITOPS_AGENT_HELM") or shutil.which("helm")
    if chosen:
        return Path(chosen)
    return built_path() if built_path().is_file() else None


def unavailable() -> str | None:
    if found() is not None:
        return None
    if shutil.which("go") is None and not Path("/usr/local/go/bin/go").exists():
        return f"no helm binary, and Go is not installed to build helm {VERSION}"
    return None


def build(log: object = sys.stderr) -> Path:
    """The helm binary: found, or built once (a few minutes)."""
    existing = found()
    if existing is not None:
        return existing
    go = shutil.which("go") or "/usr/local/go/bin/go"
    target = built_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"building helm {VERSION} from {MODULE} into {target} ...", file=log)  # type: ignore[call-overload]
    started = time.monotonic()
    env = {**os.environ, "GOBIN": str(target.parent), "CGO_ENABLED": "0"}
    flags = f"-s -w -X {MODULE}/internal/version.version={VERSION}"
    subprocess.run(
        [go, "install", "-ldflags", flags, f"{MODULE}/cmd/helm@{VERSION}"], env=env, check=True, timeout=3600
    )
    print(f"built helm in {time.monotonic() - started:.0f} s", file=log)  # type: ignore[call-overload]
    return target


if __name__ == "__main__":
    if sys.argv[1:] != ["build"]:
        sys.exit("usage: python -m tests.support.helm build")
    print(build())
