"""``kubectl apply -k deploy/`` as a user runs it, the first time, into a
fresh emulated cluster and into the real API server; and the ServiceAccount's
permissions there, through ``kubectl auth can-i``, exactly as the README's
table documents them."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support import apiserver
from tests.support.emulator import serve, stop
from tests.support.repos import PROJECT
from tests.support.waits import wait_for_kubeconfig

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]
DEPLOY = PROJECT / "deploy"
AGENT = "system:serviceaccount:gitops-agent:gitops-agent"
EXPECTED_OBJECTS = {
    ("Namespace", "gitops-agent"),
    ("ServiceAccount", "gitops-agent"),
    ("ClusterRole", "gitops-agent"),
    ("ClusterRole", "gitops-agent-secrets"),
    ("ClusterRoleBinding", "gitops-agent"),
    ("RoleBinding", "gitops-agent-secrets"),
    ("Role", "gitops-agent-leases"),
    ("RoleBinding", "gitops-agent-leases"),
    ("PodDisruptionBudget", "gitops-agent"),
    ("ConfigMap", "gitops-agent-config"),
    ("ConfigMap", "gitops-agent-known-hosts"),
    ("ConfigMap", "gitops-agent-gpg-keys"),
    ("Secret", "gitops-agent-credentials"),
    ("Service", "gitops-agent"),
    ("Deployment", "gitops-agent"),
    ("NetworkPolicy", "gitops-agent"),
}


def kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True, timeout=120
    )


def applied(kubeconfig: Path) -> None:
    """The first apply succeeds and creates every object; a second one succeeds too."""
    first = kubectl(kubeconfig, "apply", "-k", str(DEPLOY))
    assert first.returncode == 0, first.stderr
    created = {
        tuple(line.split()[0].split("/", 1)) for line in first.stdout.splitlines() if "created" in line
    }
    assert len(created) == len(EXPECTED_OBJECTS), first.stdout
    again = kubectl(kubeconfig, "apply", "-k", str(DEPLOY))
    assert again.returncode == 0, again.stderr
    assert "deployment.apps/gitops-agent unchanged" in again.stdout
    listed = kubectl(
        kubeconfig,
        "get",
        "-n",
        "gitops-agent",
        "namespace,serviceaccount,configmap,secret,service,deployment,networkpolicy,rolebinding,role,pdb",
        "-o",
        "yaml",
    )
    assert listed.returncode == 0, listed.stderr
    names = {(o["kind"], o["metadata"]["name"]) for o in yaml.safe_load(listed.stdout)["items"]}
    namespaced = {k for k in EXPECTED_OBJECTS if k[0] not in ("ClusterRole", "ClusterRoleBinding")}
    assert namespaced <= names


def test_apply_k_into_a_fresh_emulated_cluster(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    proc = serve(tmp_path / "cluster.db", kubeconfig)
    try:
        wait_for_kubeconfig(kubeconfig, proc)
        applied(kubeconfig)
    finally:
        stop(proc)


def documented_permissions() -> list[tuple[set[str], str, set[str]]]:
    """The README's permissions table: (resources, where, verbs) per row."""
    readme = (PROJECT / "README.md").read_text()
    table = readme.split("| resources | where | verbs |", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in table.strip().splitlines()[1:]:
        resources, where, verbs = (c.strip() for c in line.strip("|").split("|"))
        rows.append((set(re.findall(r"`([^`]+)`", resources)), where, {v.strip() for v in verbs.split(",")}))
    assert len(rows) >= 10
    return rows


def can_i_list(kubeconfig: Path, namespace: str) -> dict[str, set[str]]:
    """``kubectl auth can-i --list`` as the agent: resource -> verbs (resource rules only)."""
    out = kubectl(kubeconfig, "auth", "can-i", "--list", "--as", AGENT, "-n", namespace)
    assert out.returncode == 0, out.stderr
    granted: dict[str, set[str]] = {}
    for line in out.stdout.splitlines()[1:]:
        m = re.match(r"^(\S+)\s+\[\]\s+\[\]\s+\[([^\]]*)\]$", line.strip())
        if m:  # a resource rule (non-resource URLs are the defaults every user has)
            granted.setdefault(m.group(1), set()).update(m.group(2).split())
    return granted


@pytest.fixture
def real(real_server: apiserver.RealServer) -> Iterator[apiserver.RealServer]:
    apiserver.reset(real_server.kubeconfig)
    yield real_server
    for kind, name in (("clusterrolebinding", "gitops-agent"), ("clusterrole", "gitops-agent")):
        kubectl(real_server.kubeconfig, "delete", kind, name, "--ignore-not-found")
    kubectl(real_server.kubeconfig, "delete", "clusterrole", "gitops-agent-secrets", "--ignore-not-found")
    apiserver.reset(real_server.kubeconfig)


def test_apply_k_into_the_real_api_server_grants_exactly_the_documented_permissions(
    real: apiserver.RealServer,
) -> None:
    grants_exactly_the_documented_permissions(real.kubeconfig)


def test_apply_k_into_the_emulated_cluster_grants_exactly_the_documented_permissions(tmp_path: Path) -> None:
    """The emulated cluster enforces RBAC for the service account as the real server does."""
    kubeconfig = tmp_path / "kubeconfig"
    proc = serve(tmp_path / "cluster.db", kubeconfig)
    try:
        wait_for_kubeconfig(kubeconfig, proc)
        grants_exactly_the_documented_permissions(kubeconfig)
    finally:
        stop(proc)


def grants_exactly_the_documented_permissions(kubeconfig: Path) -> None:
    applied(kubeconfig)
    table = documented_permissions()
    for namespace in ("gitops-agent", "default"):
        expected: dict[str, set[str]] = {}
        for resources, where, verbs in table:
            if where == "`gitops-agent` only" and namespace != "gitops-agent":
                continue
            for r in resources:
                expected.setdefault(r, set()).update(verbs)
        assert can_i_list(kubeconfig, namespace) == expected, namespace

    def can(*args: str) -> str:
        out = kubectl(kubeconfig, "auth", "can-i", "--as", AGENT, *args)
        return out.stdout.strip()

    assert can("create", "secrets", "-n", "gitops-agent") == "yes"
    assert can("get", "secrets", "-n", "default") == "no"
    assert can("list", "secrets", "--all-namespaces") == "no"
    assert can("update", "leases.coordination.k8s.io", "-n", "gitops-agent") == "yes"  # daemon.ha
    assert can("create", "leases.coordination.k8s.io", "-n", "default") == "no"
    assert can("delete", "leases.coordination.k8s.io", "-n", "gitops-agent") == "yes"  # old members
    assert can("delete", "namespaces") == "no"
    assert can("patch", "customresourcedefinitions.apiextensions.k8s.io") == "yes"
    assert can("delete", "customresourcedefinitions.apiextensions.k8s.io") == "no"
    assert can("create", "rolebindings.rbac.authorization.k8s.io", "-n", "shop") == "yes"
    assert can("escalate", "roles.rbac.authorization.k8s.io", "-n", "shop") == "no"
    assert can("bind", "roles.rbac.authorization.k8s.io", "-n", "shop") == "no"
    assert can("create", "clusterroles.rbac.authorization.k8s.io") == "no"
    assert can("impersonate", "serviceaccounts") == "no"
