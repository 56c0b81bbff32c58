"""``gitops-agent health --explain FILE.yaml``: verdict, deciding rule and why."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.commands import agent

CERT = """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web-tls, namespace: web}
status:
  conditions: [{type: Ready, status: "False", reason: DoesNotExist, message: issuing}]
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g}
status: {built: false}
"""


def test_explain_names_verdict_rule_and_why(tmp_path: Path) -> None:
    (tmp_path / "objs.yaml").write_text(CERT)
    lua = "return {status = obj.status.built and 'Healthy' or 'Progressing', message = 'not built'}"
    (tmp_path / "agent.yaml").write_text(
        "health:\n  lua:\n    resource.customizations.health.example.com_Gadget: " + json.dumps(lua) + "\n"
    )
    done = agent("health", "--explain", "objs.yaml", "--config", "agent.yaml", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    cert, gadget = json.loads(done.stdout)
    assert (cert["health"], cert["rule"]) == ("Progressing", "built-in Certificate.cert-manager.io")
    assert "DoesNotExist" in cert["why"]
    assert gadget["health"] == "Progressing" and gadget["rule"].startswith("Lua health script")
    (tmp_path / "elsewhere").mkdir()
    text = agent("health", "--explain", "../objs.yaml", cwd=tmp_path / "elsewhere")  # built-ins only
    assert "Gadget/g (example.com/v1): Healthy" in text.stdout


def test_explain_of_a_bad_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "objs.yaml").write_text("kind: [unclosed")
    done = agent("health", "--explain", "objs.yaml", cwd=tmp_path)
    assert done.returncode == 3
    assert "objs.yaml: not valid YAML" in done.stderr and "Traceback" not in done.stderr
