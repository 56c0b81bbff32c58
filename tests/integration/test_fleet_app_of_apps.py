"""App-of-apps over a real git repository and the emulated cluster: apps
declared by Application documents, three levels deep, never applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import parse_config
from agent.emulator import EmulatedCluster
from agent.fleet import Fleet, Origin
from agent.fleet.resolve import resolve
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from tests.support.repos import GitRepo


def application(name: str, path: str, namespace: str | None = None, **extra: str) -> str:
    lines = [
        "apiVersion: gitops-agent.io/v1alpha1",
        "kind: Application",
        f"metadata: {{name: {name}, labels: {{tier: {name}}}}}",
        f"spec: {{path: {path}, namespace: {namespace or name}"
        + "".join(f", {k}: {v}" for k, v in extra.items())
        + "}",
    ]
    return "\n".join(lines) + "\n"


def configmap(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{from: {name}}}\n"


@pytest.fixture
def mono(repo: GitRepo) -> GitRepo:
    repo.write("fleet/root/platform.yaml", application("platform", "fleet/platform", "default"))
    repo.write("fleet/root/cm.yaml", configmap("root"))
    repo.write("fleet/platform/team.yaml", application("team", "fleet/team", "default"))
    repo.write("fleet/team/web.yaml", "---\n" + application("web", "apps/web") + "---\n" + configmap("team"))
    repo.write("apps/web/cm.yaml", configmap("web"))
    repo.commit("three levels")
    return repo


def context(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> Context:
    cfg = parse_config(
        {
            "source": {"allowedSchemes": ["file"]},
            "apps": [{"name": "root", "repo": str(repo.path), "path": "fleet/root", "namespace": "default"}],
        },
        "agent.yaml",
        tmp_path,
    )
    return Context.create(cfg, cluster)


def test_three_levels_are_resolved_and_only_real_objects_applied(
    tmp_path: Path, mono: GitRepo, cluster: EmulatedCluster
) -> None:
    ctx = context(tmp_path, mono, cluster)
    fleet = resolve(ctx)
    assert fleet.problems == ()
    assert [(f.app.name, str(f.origin)) for f in fleet.apps] == [
        ("root", "config"),
        ("platform", "app root"),
        ("team", "app platform"),
        ("web", "app team"),
    ]
    web = fleet.app("web")
    assert (web.repo, web.path, web.namespace, web.labels) == (
        str(mono.path),
        "apps/web",
        "web",
        {"tier": "web"},
    )

    results = [reconcile(ctx, f.app) for f in fleet.apps if f.app.name != "web"]
    assert all(r.ok for r in results), [r.failure for r in results]
    # each parent applied its own objects, and no Application document reached the cluster
    assert [e.key.name for r in results for e in r.changeset.entries] == ["root", "team"]
    assert cluster.get("v1", "ConfigMap", "team", "default")["data"] == {"from": "team"}
    with pytest.raises(Exception):  # noqa: B017 - the kind is not served: the emulator says so
        cluster.list("gitops-agent.io/v1alpha1", "Application")
    records = ctx.records().history("team")
    assert [i.kind for i in records[-1].inventory] == ["ConfigMap"]


def test_a_name_declared_twice_is_refused_naming_both(
    tmp_path: Path, mono: GitRepo, cluster: EmulatedCluster
) -> None:
    mono.write("fleet/team/again.yaml", application("platform", "apps/web"))
    mono.commit("a clash")
    fleet = resolve(context(tmp_path, mono, cluster))
    assert [f.app.name for f in fleet.apps] == ["root", "platform", "team", "web"]
    assert fleet.app("platform").path == "fleet/platform"
    assert fleet.problems == (
        "app 'platform' is defined twice: by app root and by app team; the second definition is refused",
    )


def test_an_app_declaring_its_parent_is_a_clash_and_depth_is_limited(
    tmp_path: Path, mono: GitRepo, cluster: EmulatedCluster
) -> None:
    ctx = context(tmp_path, mono, cluster)
    shallow = resolve(ctx, max_depth=2)
    assert [f.app.name for f in shallow.apps] == ["root", "platform", "team"]
    assert shallow.problems == (
        "app team: declares apps more than 2 levels below agent.yaml (an app declaring itself?); "
        "they are refused",
    )


def test_a_parent_that_cannot_be_read_keeps_what_it_declared(
    tmp_path: Path, mono: GitRepo, cluster: EmulatedCluster
) -> None:
    ctx = context(tmp_path, mono, cluster)
    before = resolve(ctx)
    mono.write("fleet/platform/team.yaml", "kind: Application\nmetadata: [broken\n")
    mono.commit("a broken document")
    after = resolve(ctx, previous=before)
    assert [(f.app.name, f.origin) for f in after.apps] == [(f.app.name, f.origin) for f in before.apps]
    (problem,) = after.problems
    assert problem.startswith(
        "app platform: cannot read the apps it declares (platform: fleet/platform/team.yaml:3"
    )
    assert problem.endswith("1 kept as they were")
    # without a previous fleet (a one-shot command), the problem is said and nothing is invented
    alone = resolve(ctx)
    assert [f.app.name for f in alone.apps] == ["root", "platform"]
    assert alone.problems == (
        "not rendered, so the apps they may declare are unknown (their syncs say why): platform (1 in all)",
    )


def test_a_document_with_a_bad_field_names_it(
    tmp_path: Path, mono: GitRepo, cluster: EmulatedCluster
) -> None:
    mono.write("fleet/team/web.yaml", application("web", "apps/web", syncPolicy="{prun: true}"))
    mono.commit("a typo")
    fleet = resolve(context(tmp_path, mono, cluster), previous=Fleet(()))
    (problem,) = fleet.problems
    assert "fleet/team/web.yaml (document 1): Application web: spec.syncPolicy.prun: unknown field" in problem
    assert fleet.get("web") is None and fleet.get("team") is not None
    assert fleet.get("team").origin == Origin("app", "platform")
