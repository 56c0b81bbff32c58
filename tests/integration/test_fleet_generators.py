"""A gitDirectories generator over a monorepo of 50 app folders: folders
come and go, the deletion budget holds, a repository that disappears
deletes nothing; the AppSet's memory is kept in the cluster."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.config import parse_config
from agent.emulator import EmulatedCluster
from agent.fleet import Origin
from agent.fleet.budget import AppSetState
from agent.fleet.resolve import resolve
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from tests.support.repos import GitRepo

FOLDERS = 50


def configmap(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{app: {name}}}\n"


@pytest.fixture
def mono(repo: GitRepo) -> GitRepo:
    for i in range(FOLDERS):
        repo.write(f"apps/app-{i:02}/cm.yaml", configmap(f"app-{i:02}"))
    repo.write("apps/README.md", "not an app\n")
    repo.write("lib/cm.yaml", configmap("lib"))
    repo.commit("50 apps")
    return repo


def context(tmp_path: Path, repo: Path, cluster: EmulatedCluster, max_percent: int = 50) -> Context:
    generator = {"gitDirectories": {"repo": str(repo), "directories": ["apps/*"], "exclude": ["apps/app-49"]}}
    template = {
        "metadata": {"name": "{{ path.basename }}", "labels": {"group": "{{ path.segments[0] }}"}},
        "spec": {"path": "{{ path.path }}", "namespace": "default"},
    }
    cfg = parse_config(
        {
            "source": {"allowedSchemes": ["file"]},
            "appSets": [
                {
                    "name": "mono",
                    "spec": {
                        "generators": [generator],
                        "template": template,
                        "deletionBudget": {"maxPercent": max_percent},
                    },
                }
            ],
        },
        "agent.yaml",
        tmp_path,
    )
    return Context.create(cfg, cluster)


def names(ctx: Context, **options: object) -> list[str]:
    return sorted(f.app.name for f in resolve(ctx, **options).apps)  # type: ignore[arg-type]


def test_folders_added_and_removed_within_and_over_the_budget(
    tmp_path: Path, mono: GitRepo, cluster: EmulatedCluster
) -> None:
    ctx = context(tmp_path, mono.path, cluster)
    fleet = resolve(ctx)
    assert fleet.problems == ()
    assert [f.app.name for f in fleet.apps] == [f"app-{i:02}" for i in range(FOLDERS - 1)]
    assert {f.origin for f in fleet.apps} == {Origin("appset", "mono")}
    assert fleet.app("app-07").labels == {"group": "apps"} and fleet.app("app-07").repo == str(mono.path)
    result = reconcile(ctx, fleet.app("app-07"))  # a generated app syncs as any other
    assert result.ok and cluster.get("v1", "ConfigMap", "app-07", "default")["data"] == {"app": "app-07"}

    # two folders come, five go: within the budget, they leave the fleet
    for i in range(5):
        mono.remove(f"apps/app-{i:02}")
    mono.write("apps/new-a/cm.yaml", configmap("new-a"))
    mono.write("apps/new-b/cm.yaml", configmap("new-b"))
    mono.commit("two in, five out")
    fleet = resolve(ctx)
    assert fleet.problems == ()
    expected = sorted([f"app-{i:02}" for i in range(5, FOLDERS - 1)] + ["new-a", "new-b"])
    assert sorted(fleet.names()) == expected
    assert sorted(AppSetState(cluster, "gitops-agent").load("mono")) == expected

    # thirty more go: over half of the 46, so nothing is removed, and the report says why
    for i in range(5, 35):
        mono.remove(f"apps/app-{i:02}")
    mono.commit("thirty out")
    fleet = resolve(ctx)
    assert sorted(fleet.names()) == expected
    problem, unread = fleet.problems
    # the kept apps' folders are gone: their syncs fail and say why, and the fleet notes it once
    assert unread.startswith("not rendered, so the apps they may declare are unknown")
    assert unread.endswith("(30 in all)")
    assert problem.startswith(
        "appset mono: would remove 30 of its 46 apps (65%, more than deletionBudget.maxPercent 50%); "
        "nothing removed: app-05, app-06"
    )
    assert problem.endswith("and 25 more")
    # a restarted agent (a new context) judges the same from what the cluster keeps
    assert names(context(tmp_path, mono.path, cluster)) == expected
    # a budget that allows it removes them
    allowed = resolve(context(tmp_path, mono.path, cluster, max_percent=80))
    assert allowed.problems == () and len(allowed.apps) == 16


def test_a_repository_that_disappears_deletes_nothing(
    tmp_path: Path, mono: GitRepo, cluster: EmulatedCluster
) -> None:
    ctx = context(tmp_path, mono.path, cluster)
    before = names(ctx)
    assert len(before) == FOLDERS - 1
    shutil.rmtree(mono.path)
    fresh = context(tmp_path, mono.path, cluster)  # no checkout cached in memory either
    fleet = resolve(fresh)
    assert sorted(fleet.names()) == before
    problem, unread = fleet.problems
    assert unread.endswith(f"({FOLDERS - 1} in all)")  # their repository is gone
    assert problem.startswith("appSets[0] (mono): ")
    assert problem.endswith(f"nothing removed, its {FOLDERS - 1} apps are kept")


def test_a_generator_that_returns_nothing_removes_nothing(
    tmp_path: Path, mono: GitRepo, cluster: EmulatedCluster
) -> None:
    ctx = context(tmp_path, mono.path, cluster)
    assert len(names(ctx)) == FOLDERS - 1
    mono.remove("apps")
    mono.commit("everything moved away")
    fleet = resolve(ctx)
    assert len(fleet.apps) == FOLDERS - 1
    assert fleet.problems[0] == (
        "appset mono: the generators returned no apps; nothing removed, its 49 apps are kept "
        "(deletionBudget.allowEmpty: true allows it)"
    )


def test_a_read_only_pass_remembers_nothing(tmp_path: Path, mono: GitRepo, cluster: EmulatedCluster) -> None:
    ctx = context(tmp_path, mono.path, cluster)
    assert len(names(ctx, remember=False)) == FOLDERS - 1
    assert AppSetState(cluster, "gitops-agent").load("mono") == {}
