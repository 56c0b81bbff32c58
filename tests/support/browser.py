"""Headless Chromium (Debian's ``chromium``) for pages as a person sees them:
``chromium(--dump-dom …)`` for one page, :class:`Page` to drive a tab (forms,
cookies, the viewport, measurements); screenshots are kept under the
project's ``.gitops-agent/screenshots``."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import websocket  # websocket-client, which the Kubernetes client brings

from tests.support.repos import PROJECT
from tests.support.waits import poll, wait_for

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


class Page:
    """One tab of headless Chromium driven over the DevTools protocol (the
    same protocol Puppeteer and Playwright speak), for what ``--dump-dom``
    cannot do: fill and submit forms, keep cookies across pages, set the
    viewport, and measure the laid-out page with ``evaluate``."""

    def __init__(self, workdir: Path, width: int = 1280, height: int = 900, *, mobile: bool = False) -> None:
        assert CHROMIUM is not None
        workdir.mkdir(parents=True, exist_ok=True)
        self._log = workdir / "chromium.log"
        with self._log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    CHROMIUM,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--remote-debugging-port=0",
                    f"--user-data-dir={workdir / 'profile'}",
                    "about:blank",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self._id = 0
        try:
            port = poll(self._port, 30)
            assert port, "Chromium did not open its DevTools port"
            pages = json.loads(
                urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read()
            )
            target = next(p for p in pages if p.get("type") == "page")
            self.ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=60)
            self.send("Page.enable")
            self.send(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=mobile,
            )
        except BaseException:
            self.close()
            raise

    def _port(self) -> int | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"chromium exited: {self._log.read_text(errors='replace')[-2000:]}")
        m = re.search(
            r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", self._log.read_text(errors="replace")
        )
        return int(m.group(1)) if m else None

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return dict(msg.get("result") or {})

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def _loaded(self) -> bool:
        return bool(self.evaluate("window.__marker === undefined && document.readyState === 'complete'"))

    def navigating(self, action: str) -> None:
        """Run ``action`` (JavaScript that leads to a new page) and wait for that page."""
        self.evaluate("window.__marker = 1")
        self.evaluate(action)
        wait_for(self._loaded, 30, "the next page")

    def goto(self, url: str) -> None:
        self.navigating(f"location.href = {json.dumps(url)}")

    def screenshot(self, path: Path) -> None:
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
