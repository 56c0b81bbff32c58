"""The built-in kinds table is generated from the packages it describes, and
kept fresh: a bump of kubernetes-validate or lightkube-models that changes a
kind fails here until ``python scripts/generate_kinds.py`` is rerun."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from agent.kube import builtin_kinds, kinds

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "generate_kinds.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_kinds", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate_kinds", module)
    spec.loader.exec_module(module)
    return module


def test_the_checked_in_table_is_the_one_read_from_the_packages() -> None:
    generate = _generator()
    table = generate.build()
    assert table == kinds.BUILTIN, f"the kinds table is stale: run {generate.COMMAND}"
    assert SCRIPT.parent.parent.joinpath("agent/kube/builtin_kinds.py").read_text() == generate.render(
        table
    ), f"agent/kube/builtin_kinds.py was edited by hand: run {generate.COMMAND}"
    assert builtin_kinds.KUBERNETES_VERSION == kinds.KUBERNETES_VERSION


def test_the_table_answers_lookups() -> None:
    deployment = kinds.builtin("apps", "Deployment")
    assert deployment is not None and deployment.api_version == "apps/v1" and deployment.namespaced
    assert deployment.definition == "io.k8s.api.apps.v1.Deployment"
    assert "scale" in deployment.subresources and deployment.short_names == ("deploy",)
    hpa = kinds.builtin("autoscaling", "HorizontalPodAutoscaler")
    assert hpa is not None and hpa.versions == ("v2", "v1")  # preferred first
    assert not kinds.is_namespaced("", "Namespace") and kinds.is_namespaced("example.com", "Widget")
