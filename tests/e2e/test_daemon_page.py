"""The status page as a person sees it: rendered by headless Chromium (Debian's
``chromium``), with a screenshot saved next to the test's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, SCREENSHOTS, chromium
from tests.support.daemon import configmaps_app, start
from tests.support.git_servers import SmartHttp, Upstream
from tests.support.waits import wait_for

pytestmark = pytest.mark.e2e


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it with apt-get as root)"
)
def test_status_page_in_headless_chromium(tmp_path: Path, server: SmartHttp) -> None:
    up = Upstream(tmp_path, server)
    configmaps_app(up.work, 5, "one")
    commit = up.push("one")
    d = start(tmp_path, up)
    try:
        wait_for(
            lambda: (d.json("/api/v1/apps/web").get("revision") or {}).get("commit") == commit, 60, "sync"
        )
        dom = chromium("--dump-dom", d.base + "/")
        assert dom.returncode == 0, dom.stderr[-2000:]
        html = dom.stdout
        assert 'id="app-web"' in html
        assert '<span class="badge Synced">Synced</span>' in html
        assert '<span class="badge Healthy">Healthy</span>' in html
        assert f'title="{commit}">{commit[:7]}</code>' in html
        assert 'href="/api/v1/apps/web/drift?format=html"' in html
        assert 'href="/api/v1/apps/web/history?format=html"' in html
        history = chromium("--dump-dom", d.base + "/api/v1/apps/web/history?format=html").stdout
        assert "web: revisions" in history and commit[:7] in history

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / "status-page.png"
        shot.unlink(missing_ok=True)
        taken = chromium(f"--screenshot={shot}", "--window-size=1280,800", "--hide-scrollbars", d.base + "/")
        assert taken.returncode == 0, taken.stderr[-2000:]
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 5000  # a page with content, not a blank image
    finally:
        d.stop()


def test_each_objects_health_and_rule_in_the_api_and_on_the_page(tmp_path: Path, server: SmartHttp) -> None:
    up = Upstream(tmp_path, server)
    configmaps_app(up.work, 2, "one")
    commit = up.push("one")
    d = start(tmp_path, up)
    try:
        wait_for(
            lambda: (d.json("/api/v1/apps/web").get("revision") or {}).get("commit") == commit, 60, "sync"
        )
        detail = d.json("/api/v1/apps/web")
        judged = {r["object"]: r for r in detail["resources"]}
        assert {r["health"] for r in judged.values()} == {"Healthy"}, judged
        assert judged["ConfigMap/web/settings-0"]["rule"] == "built-in: exists"
        assert judged["Namespace/web"]["rule"] == "built-in Namespace"
        assert d.json("/api/v1/apps")["apps"][0]["unhealthy"] == []
        status, page = d.get("/")
        assert status == 200 and b'<span class="badge Healthy">Healthy</span></td>' in page
    finally:
        d.stop()
