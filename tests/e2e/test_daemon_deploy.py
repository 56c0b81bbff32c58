"""``deploy/`` is applied to the emulated cluster with the agent's own sync,
and what it creates fits together: probes the daemon answers, a config the
daemon accepts with every ${VAR} provided by the Secret, RBAC without
wildcards, a Service that selects the pods."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config import parse_config
from agent.emulator import EmulatedCluster
from tests.support.commands import agent
from tests.support.repos import PROJECT, GitRepo, write_config

pytestmark = pytest.mark.e2e


@pytest.fixture
def synced(tmp_path: Path) -> tuple[EmulatedCluster, Path]:
    repo = GitRepo(tmp_path / "repo")
    # the manifests as plain YAML; kustomization.yaml is kubectl's (apply -k), not an object
    shutil.copytree(
        PROJECT / "deploy", repo.path / "deploy", ignore=shutil.ignore_patterns("kustomization.yaml")
    )
    repo.commit("deploy")
    config = write_config(
        tmp_path / "agent.yaml",
        f"""
        cluster:
          emulated: {{path: cluster.db}}
          stateNamespace: gitops-agent
        source:
          allowedSchemes: [file]
        apps:
          - name: gitops-agent
            repo: {repo.path}
            path: deploy
            namespace: gitops-agent
        """,
    )
    first = agent("sync", "-c", str(config), "-o", "json")
    assert first.returncode == 0, first.stdout + first.stderr
    (app,) = json.loads(first.stdout)["apps"]
    assert app["ok"] and app["summary"] == {"created": 16}
    again = agent("sync", "-c", str(config), "-o", "json")
    assert json.loads(again.stdout)["apps"][0]["summary"] == {"unchanged": 16}  # no false drift
    cluster = EmulatedCluster(tmp_path / "cluster.db")
    yield cluster, config
    cluster.close()


def get(cluster: EmulatedCluster, api_version: str, kind: str, name: str, ns: str = "gitops-agent") -> Any:
    obj = cluster.get(api_version, kind, name, ns)
    assert obj is not None, f"{kind}/{name} missing"
    return obj


def test_deploy_manifests_sync_and_fit_together(synced: tuple[EmulatedCluster, Path]) -> None:
    cluster, _ = synced
    deployment = get(cluster, "apps/v1", "Deployment", "gitops-agent")
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert pod["spec"]["serviceAccountName"] == "gitops-agent"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (port,) = container["ports"]

    config_map = get(cluster, "v1", "ConfigMap", "gitops-agent-config")
    mounted = next(m for m in container["volumeMounts"] if m["name"] == "config")["mountPath"]
    assert container["args"] == ["--config", f"{mounted}/agent.yaml"]
    text = config_map["data"]["agent.yaml"]
    secret = get(cluster, "v1", "Secret", "gitops-agent-credentials")
    assert container["envFrom"] == [{"secretRef": {"name": "gitops-agent-credentials"}}]
    needed = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text))
    assert needed and needed <= set(secret["data"])  # every ${VAR} comes from the Secret

    env = {k: f"value-of-{k}" for k in needed} | {
        e["name"]: e["value"] for e in container["env"] if "value" in e
    }
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        cfg = parse_config(yaml.safe_load(text), "deploy/configmap.yaml", Path("/"))
    assert cfg.cluster.kind == "inCluster"
    assert cfg.daemon.port == port["containerPort"] and cfg.daemon.address == "0.0.0.0"  # noqa: S104
    assert cfg.daemon.api_token == "value-of-GITOPS_AGENT_API_TOKEN"
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    assert grace > cfg.daemon.shutdown_grace_seconds

    service = get(cluster, "v1", "Service", "gitops-agent")
    labels = pod["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]

    role = get(cluster, "rbac.authorization.k8s.io/v1", "ClusterRole", "gitops-agent", "")
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"] and "*" not in rule["apiGroups"]
        assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])
    assert not any("secrets" in rule["resources"] for rule in role["rules"])  # never cluster-wide
    secrets = get(cluster, "rbac.authorization.k8s.io/v1", "RoleBinding", "gitops-agent-secrets")
    assert secrets["roleRef"]["name"] == "gitops-agent-secrets"  # in the agent's namespace only
    binding = get(cluster, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "gitops-agent", "")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "gitops-agent", "namespace": "gitops-agent"}
    ]


def test_deploy_runs_three_replicas_that_share_the_apps(synced: tuple[EmulatedCluster, Path]) -> None:
    cluster, _ = synced
    deployment = get(cluster, "apps/v1", "Deployment", "gitops-agent")
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    labels = pod["metadata"]["labels"]
    # three replicas sharing the apps (daemon.ha, on by default), never fewer than two during a drain
    text = get(cluster, "v1", "ConfigMap", "gitops-agent-config")["data"]["agent.yaml"]
    assert "ha" not in yaml.safe_load(text)["daemon"]  # the defaults: on, advertised at http://$POD_IP:<port>
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    pod_ip = next(e for e in container["env"] if e["name"] == "POD_IP")
    assert pod_ip["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    spread = pod["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert spread[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert spread[0]["podAffinityTerm"]["labelSelector"]["matchLabels"].items() <= labels.items()
    pdb = get(cluster, "policy/v1", "PodDisruptionBudget", "gitops-agent")
    assert (
        pdb["spec"]["minAvailable"] == 2 and pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    )
    leases = get(cluster, "rbac.authorization.k8s.io/v1", "Role", "gitops-agent-leases")
    assert leases["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
        }
    ]
    bound = get(cluster, "rbac.authorization.k8s.io/v1", "RoleBinding", "gitops-agent-leases")
    assert bound["roleRef"]["name"] == "gitops-agent-leases" and bound["roleRef"]["kind"] == "Role"


def test_dockerfile_runs_the_daemon_as_a_non_root_user_with_git() -> None:
    text = (PROJECT / "Dockerfile").read_text()
    final = text.rsplit("\nFROM ", 1)[1]  # the image that ships
    assert final.startswith("${PYTHON_IMAGE}") and "ARG PYTHON_IMAGE=python:3.12-slim" in text
    assert re.search(r"apt-get install[^\n]*\\\n[^\n]*\bgit\b", final) or " git " in final
    assert "\nUSER 10001" in final
    assert "\nHEALTHCHECK " in final and "/livez" in final
    assert 'ENTRYPOINT ["gitops-agent", "run"]' in final
    assert "gcc" not in final and "build-essential" not in final
