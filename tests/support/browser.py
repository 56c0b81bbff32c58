"""Headless Chromium (Debian's ``chromium``) for pages as a person sees them;
screenshots are kept under the project's ``.gitops-agent/screenshots``."""

from __future__ import annotations

import shutil
import subprocess

from tests.support.repos import PROJECT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = PROJECT / ".gitops-agent" / "screenshots"


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
