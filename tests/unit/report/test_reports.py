"""Report documents: JSON with a schema version, Markdown, self-contained HTML."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from rich.console import Console

from agent.diff import diff_object
from agent.models import Action, ChangeSet, ChangeSetEntry, ObjectKey, Revision
from agent.report import drift_document, sync_document
from agent.report.terminal import print_sync
from agent.results import DriftReport, Failure, ObjectHealth, Stage, SyncResult

KEY = ObjectKey("apps", "Deployment", "ns", "web")
REV = Revision("https://***@git.example/r.git", "main", "0123456789abcdef0123456789abcdef01234567")


def _report() -> DriftReport:
    desired = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"replicas": 2},
    }
    live = {**desired, "spec": {"replicas": 5}}
    secret_key = ObjectKey("", "Secret", "ns", "s")
    secret = diff_object(
        secret_key,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "namespace": "ns"},
            "stringData": {"pw": "clear-text-pw"},
        },
        None,
    )
    return DriftReport("web", REV, (diff_object(KEY, desired, live), secret))


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.external.append(value)


def test_json_drift_document() -> None:
    doc = json.loads(drift_document([_report()], "json"))
    assert doc["schemaVersion"] == "gitops-agent.io/report/v1" and doc["kind"] == "DriftReport"
    (app,) = doc["apps"]
    assert app["syncStatus"] == "OutOfSync"
    assert app["counts"] == {"in-sync": 0, "modified": 1, "missing": 1, "extraneous": 0}
    assert app["objects"][0]["changes"] == [
        {"path": "spec.replicas", "desired": 2, "live": 5, "kind": "changed"}
    ]


def test_markdown_and_html_drift_documents() -> None:
    md = drift_document([_report()], "markdown")
    assert "| `Deployment/ns/web` | modified | `spec.replicas` | `2` | `5` |" in md
    html = drift_document([_report()], "html")
    parser = _Collector()
    parser.feed(html)
    assert parser.tags[0] == "html" and "table" in parser.tags and "style" in parser.tags
    assert parser.external == []  # self-contained
    assert "OutOfSync" in html and "<code>spec.replicas</code>" in html
    assert '<span class="del">-  replicas: 5</span>' in html


def test_no_secret_in_any_document() -> None:
    for fmt in ("json", "markdown", "html"):
        assert "clear-text-pw" not in drift_document([_report()], fmt)


def test_sync_documents() -> None:
    result = SyncResult("web", REV, ChangeSet((ChangeSetEntry(KEY, Action.CONFIGURED),)), record=3)
    failed = SyncResult("api", None, failure=Failure(Stage.RENDER, "charts/api/templates/x.yaml:3: boom"))
    doc = json.loads(sync_document([result, failed], "json"))
    assert [a["ok"] for a in doc["apps"]] == [True, False]
    assert doc["apps"][1]["failure"] == {
        "stage": "Render",
        "reason": "RenderFailed",
        "message": "charts/api/templates/x.yaml:3: boom",
    }
    html = sync_document([result, failed], "html")
    assert "recorded as revision 3" in html and "Render failed:" in html
    assert "1 configured" in sync_document([result], "markdown")


def _waited() -> SyncResult:
    verdicts = (
        ObjectHealth("Deployment/ns/web", "Healthy", "built-in Deployment", ""),
        ObjectHealth(
            "Gadget.example.com/ns/g",
            "Degraded",
            "Lua health script for example.com/Gadget (health/example.com/Gadget/health.lua)",
            "parts | missing\nsecond line",
        ),
    )
    failure = Failure(Stage.HEALTH, "Gadget.example.com/ns/g is Degraded: parts | missing")
    return SyncResult(
        "web", REV, ChangeSet((ChangeSetEntry(KEY, Action.CONFIGURED),)), failure, health=verdicts
    )


def test_sync_reports_show_each_objects_health_rule_and_why() -> None:
    md = sync_document([_waited()], "markdown")
    assert "| `Deployment/ns/web` | Healthy | built-in Deployment | - |" in md
    lua = "Lua health script for example.com/Gadget (health/example.com/Gadget/health.lua)"
    assert f"| `Gadget.example.com/ns/g` | Degraded | {lua} | parts \\| missing second line |" in md
    html = sync_document([_waited()], "html")
    assert '<span class="badge failed">Degraded</span></td><td>' + lua in html
    assert "<td>parts | missing\nsecond line</td>" in html and '<span class="badge ok">Healthy</span>' in html
    console = Console(record=True, width=200)
    print_sync([_waited()], console)
    text = console.export_text()
    assert "health, as last seen while waiting" in text
    row = next(line for line in text.splitlines() if line.startswith("Gadget.example.com/ns/g"))
    assert row.split()[:2] == ["Gadget.example.com/ns/g", "Degraded"]
    assert lua in row and row.rstrip().endswith("parts | missing second line")
    assert "built-in Deployment" in text


def test_sync_reports_without_a_wait_have_no_health_section() -> None:
    result = SyncResult("web", REV, ChangeSet((ChangeSetEntry(KEY, Action.CONFIGURED),)), record=3)
    assert "Health" not in sync_document([result], "markdown")
    assert "<caption>" not in sync_document([result], "html")
    console = Console(record=True, width=200)
    print_sync([result], console)
    assert "health, as last seen" not in console.export_text()
