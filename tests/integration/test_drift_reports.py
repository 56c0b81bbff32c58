"""Drift reports as people and tools read them: the terminal (coloured, with
attribution), JSON against its published schema, Markdown, and the HTML page
rendered by headless Chromium; no Secret value in any of them; and
``gitops-agent diff`` as a user runs it, with ``--revision`` previews."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from rich.console import Console

from agent.report import drift_document, print_drift
from agent.report.templates import templates_dir
from agent.results import DriftReport
from agent.sync.pipeline import reconcile
from agent.sync.status import drift
from tests.support.browser import CHROMIUM, SCREENSHOTS, chromium
from tests.support.drift import (
    APP_PATH,
    SHOP,
    app_config,
    change_out_of_band,
    corpus_repo,
    make_ctx,
)
from tests.support.emulator import Backend, backend
from tests.support.repos import PROJECT

# Every clear Secret value of the corpus, and what the tests write live.
CORPUS_SECRETS = (
    "s3cr3t-Pa55word!",
    "SG.sendgrid-api-key-5678",
    "sk_live_stripe_key_1234",
    "registry-token",
)
KUBECTL_APPLIED = "kubectl-applied-api-key-9999"


def _kubectl_apply_secret(b: Backend) -> None:
    """What ``kubectl apply`` (client side) leaves on a Secret: the new value,
    and a copy of the applied object, values in clear, in an annotation."""
    assert b.other is not None
    applied = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "api-keys", "namespace": SHOP},
        "stringData": {"sendgrid": KUBECTL_APPLIED},
    }
    b.other.patch(
        "v1",
        "Secret",
        "api-keys",
        SHOP,
        {
            "metadata": {
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)}
            },
            "data": {"sendgrid": base64.b64encode(KUBECTL_APPLIED.encode()).decode()},
        },
        field_manager="kubectl-client-side-apply",
    )


def _forbidden(clear: dict[str, str]) -> list[str]:
    values = [*CORPUS_SECRETS, KUBECTL_APPLIED, *clear.values()]
    return values + [base64.b64encode(v.encode()).decode() for v in values]


def _terminal(reports: list[DriftReport]) -> tuple[str, str]:
    console = Console(
        file=io.StringIO(), record=True, force_terminal=True, color_system="truecolor", width=220
    )
    print_drift(reports, console)
    styled = console.export_text(styles=True, clear=False)
    return styled, console.export_text()


@pytest.fixture
def drifted(tmp_path: Path) -> tuple[list[DriftReport], dict[str, str]]:
    repo = corpus_repo(tmp_path / "repo")
    with backend(tmp_path, "kube-http") as b:
        ctx, cfg = make_ctx(tmp_path, repo, b.client, strictDrift=True)
        assert reconcile(ctx, cfg.apps[0]).ok
        clear = change_out_of_band(b)
        _kubectl_apply_secret(b)
        return [drift(ctx, cfg.apps[0])], clear


def test_no_secret_value_in_any_format(drifted: tuple[list[DriftReport], dict[str, str]]) -> None:
    reports, clear = drifted
    secrets = {str(d.key): d for d in reports[0].drifted if d.key.kind == "Secret"}
    api_keys = {c.path: c for c in secrets["Secret/shop/api-keys"].changes}
    note = api_keys['metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]']
    assert note.manager == "kubectl-client-side-apply" and "<secret:" in note.live
    assert api_keys["data.sendgrid"].desired != api_keys["data.sendgrid"].live

    styled, plain = _terminal(reports)
    outputs = {
        "terminal": styled,
        "json": drift_document(reports, "json"),
        "markdown": drift_document(reports, "markdown"),
        "html": drift_document(reports, "html"),
    }
    for fmt, text in outputs.items():
        assert "data.password" in text or "data.password" in plain, fmt  # the report is there...
        for value in _forbidden(clear):
            assert value not in text, (fmt, value)  # ...and no value in clear or in base64

    # the terminal: coloured unified diff, attribution next to each field
    assert "\x1b[" in styled
    assert "spec.replicas: git 3 live 5 (kubectl-scale, " in plain
    assert "-  replicas: 5" in plain and "+  replicas: 3" in plain
    assert "ConfigMap/shop/intruder extraneous (by kubectl-create, " in plain


def test_json_follows_its_published_schema(drifted: tuple[list[DriftReport], dict[str, str]]) -> None:
    reports, _ = drifted
    schema = json.loads((templates_dir() / "drift.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = json.loads(drift_document(reports, "json"))
    jsonschema.validate(doc, schema)
    (app,) = doc["apps"]
    assert app["counts"]["missing"] == 1 and app["counts"]["extraneous"] == 1
    by_object = {o["object"]: o for o in app["objects"]}
    assert by_object["ConfigMap/shop/intruder"]["manager"] == "kubectl-create"
    scaled = next(c for c in by_object["Deployment/shop/web"]["changes"] if c["path"] == "spec.replicas")
    assert (scaled["desired"], scaled["live"], scaled["manager"]) == (3, 5, "kubectl-scale")


def test_markdown_for_a_pull_request(drifted: tuple[list[DriftReport], dict[str, str]]) -> None:
    reports, _ = drifted
    md = drift_document(reports, "markdown")
    assert "## shop: OutOfSync" in md
    assert "| `Deployment/shop/web` | modified | `spec.replicas` | `3` | `5` | kubectl-scale at " in md
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert rows and all(len(re.split(r"(?<!\\)\|", line)) == 8 for line in rows)  # 6 cells, always
    assert md.count("<details>") == md.count("</details>") == len(reports[0].drifted)
    assert "```diff\n--- live/Deployment/shop/web\n" in md
    assert "-      - command:" in md  # the container someone added shows in the diff too


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it with apt-get as root)"
)
def test_html_report_in_headless_chromium(
    tmp_path: Path, drifted: tuple[list[DriftReport], dict[str, str]]
) -> None:
    reports, clear = drifted
    page = tmp_path / "drift.html"
    page.write_text(drift_document(reports, "html"))
    dom = chromium("--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert '<section class="app" id="app-shop">' in html
    assert '<span class="badge OutOfSync">OutOfSync</span>' in html
    assert "<code>spec.template.spec.containers[name=web].image</code>" in html
    assert "kubectl-set<br>" in html
    assert '<span class="del">-  replicas: 5</span>' in html
    for value in _forbidden(clear):
        assert value not in html

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "drift-report.png"
    shot.unlink(missing_ok=True)
    taken = chromium(f"--screenshot={shot}", "--window-size=1280,1400", "--hide-scrollbars", page.as_uri())
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20000  # tables and diffs, not a blank page


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("GITOPS_AGENT_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "agent", *args, "--config", str(config)],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_diff_previews_a_branch_or_commit_against_the_live_cluster(tmp_path: Path) -> None:
    repo = corpus_repo(tmp_path / "repo")
    with backend(tmp_path, "kube-http") as b:
        assert b.kubeconfig is not None
        config = tmp_path / "agent.yaml"
        doc = app_config(tmp_path, repo)
        config.write_text(yaml.safe_dump({**doc, "cluster": {"kubeconfig": {"path": str(b.kubeconfig)}}}))
        synced = _cli(config, "sync")
        assert synced.returncode == 0, synced.stdout + synced.stderr

        # a branch that scales the web Deployment and drops the echo one
        repo.git("checkout", "-q", "-b", "scale-web")
        web = repo.path / APP_PATH / "10-deployment-web.yaml"
        web.write_text(web.read_text().replace("  replicas: 3\n", "  replicas: 6\n", 1))
        repo.remove(f"{APP_PATH}/16-generated.yaml")
        commit = repo.commit("scale web, drop echo")
        repo.git("checkout", "-q", "main")

        writes = b.engine.writes
        same = _cli(config, "diff")
        assert same.returncode == 0, same.stdout + same.stderr
        assert "shop: in sync" in same.stdout

        for rev in ("scale-web", commit[:10]):
            preview = _cli(config, "diff", "--revision", rev, "-o", "json")
            assert preview.returncode == 1, preview.stdout + preview.stderr
            (app,) = json.loads(preview.stdout)["apps"]
            assert app["revision"]["commit"] == commit
            changes = {
                (o["object"], c["path"]): (c["desired"], c["live"])
                for o in app["objects"]
                for c in o["changes"]
            }
            assert changes == {("Deployment/shop/web", "spec.replicas"): (6, 3)}
            statuses = {o["object"]: o["status"] for o in app["objects"] if o["status"] != "in-sync"}
            assert statuses == {"Deployment/shop/web": "modified", "Deployment/shop/echo": "extraneous"}
        assert b.engine.writes == writes  # a preview never writes

        text = _cli(config, "diff", "--revision", "scale-web")
        assert text.returncode == 1
        assert "spec.replicas: git 6 live 3" in text.stdout
        assert "Deployment/shop/echo extraneous" in text.stdout

        missing = _cli(config, "diff", "--revision", "no-such-branch")
        assert missing.returncode == 3
        assert "no-such-branch" in missing.stdout + missing.stderr
