"""When Git does not answer, or answers with something the app must not
apply, the app keeps its last synced state: nothing is written or pruned,
and the failure names the source stage without showing a credential."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.config import parse_config
from agent.emulator import EmulatedCluster
from agent.results import Stage
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from agent.sync.status import drift
from tests.support.git_servers import SmartHttp
from tests.support.repos import GitRepo

TOKEN = "tok-engine-5e1f0a9b77"
DEPLOY = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: web
data:
  greeting: {text}
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[GitRepo, SmartHttp]]:
    work = GitRepo(tmp_path / "work")
    work.write("apps/web/config.yaml", DEPLOY.format(text="hello"))
    work.write("apps/web/extra.yaml", DEPLOY.format(text="extra").replace("name: web", "name: extra"))
    work.commit("first")
    bare = tmp_path / "srv" / "app.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work.path), str(bare)], check=True)
    work.git("remote", "add", "origin", str(bare))
    server = SmartHttp(tmp_path / "srv", "bot", TOKEN)
    yield work, server
    server.stop()


def _ctx(tmp_path: Path, server: SmartHttp, cluster: EmulatedCluster, **app: object) -> Context:
    cfg = parse_config(
        {
            "source": {
                "allowedSchemes": ["http", "file"],
                "timeoutSeconds": 10,
                "credentials": [
                    {"url": server.url(""), "username": "bot", "password": {"env": "T_GIT_TOKEN"}}
                ],
            },
            "apps": [
                {
                    "name": "web",
                    "repo": server.url("app.git"),
                    "path": "apps/web",
                    "namespace": "web",
                    "syncPolicy": {"createNamespace": True},
                    **app,
                }
            ],
        },
        "agent.yaml",
        tmp_path,
    )
    return Context.create(cfg, cluster)


def test_source_failure_keeps_the_last_synced_state(
    tmp_path: Path,
    served: tuple[GitRepo, SmartHttp],
    cluster: EmulatedCluster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work, server = served
    monkeypatch.setenv("T_GIT_TOKEN", TOKEN)
    ctx = _ctx(tmp_path, server, cluster)
    app = ctx.config.apps[0]
    first = reconcile(ctx, app)
    assert first.ok, first.failure
    assert cluster.get("v1", "ConfigMap", "extra", "web") is not None

    # Git now drops an object, but the server refuses the agent's token: no prune
    work.remove("apps/web/extra.yaml")
    work.commit("drop extra")
    work.git("push", "-q", "origin", "HEAD:main")
    monkeypatch.setenv("T_GIT_TOKEN", "wrong-" + TOKEN)
    writes = cluster.writes
    failed = reconcile(ctx, app)
    assert not failed.ok and failed.failure is not None
    assert failed.failure.stage is Stage.SOURCE
    assert "authentication failed" in failed.failure.message
    assert TOKEN not in failed.failure.message
    assert cluster.writes == writes  # nothing applied, pruned or recorded
    assert cluster.get("v1", "ConfigMap", "extra", "web") is not None
    assert [r.number for r in ctx.records().history("web")] == [1]
    report = drift(ctx, app)
    assert report.failure is not None and report.failure.stage is Stage.SOURCE

    # the server goes away entirely: same outcome
    server.stop()
    monkeypatch.setenv("T_GIT_TOKEN", TOKEN)
    down = reconcile(ctx, app)
    assert down.failure is not None and down.failure.stage is Stage.SOURCE
    assert "cannot reach" in down.failure.message
    assert cluster.writes == writes


def test_an_unsigned_commit_is_not_applied(
    tmp_path: Path,
    served: tuple[GitRepo, SmartHttp],
    cluster: EmulatedCluster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, server = served
    monkeypatch.setenv("T_GIT_TOKEN", TOKEN)
    (tmp_path / "allowed_signers").write_text("")
    ctx = _ctx(tmp_path, server, cluster, verify={"allowedSigners": "allowed_signers"})
    result = reconcile(ctx, ctx.config.apps[0])
    assert result.failure is not None and result.failure.stage is Stage.SOURCE
    assert "is not signed; this app requires a signed commit, so it is not applied" in result.failure.message
    assert cluster.get("v1", "ConfigMap", "web", "web") is None
    assert ctx.records().history("web") == []
