"""kubectl against ``gitops-agent emulator serve``, with the kubeconfig it writes.

kubectl is a client nobody on this project wrote: each step below is what a
person does by hand against a cluster, and each checks its result.  The
server runs as a user starts it (HTTPS, bearer token, default options but a
short rollout), kubectl keeps its discovery cache in a private HOME.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.emulator import serve, stop
from tests.support.waits import wait_for_kubeconfig

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("kubectl") is None,
        reason="kubectl is not installed (CI machines of this project have it)",
    ),
]

FIXTURES = Path(__file__).parent / "fixtures" / "kubectl"
APP = FIXTURES / "app"
APP_OBJECTS = 10  # documents in fixtures/kubectl/app


class Kubectl:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(
        self, *args: str, ok: bool = True, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["kubectl", *args],
            capture_output=True,
            text=True,
            input=stdin,
            env={**self.env, **(env or {})},
            timeout=120,
        )
        if ok:
            assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
        return done

    def jsonpath(self, *args: str, path: str) -> str:
        return self("get", *args, "-o", f"jsonpath={path}").stdout


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    root = tmp_path_factory.mktemp("kubectl")
    kubeconfig = root / "kubeconfig"
    server = serve(root / "cluster.db", kubeconfig, "--rollout-seconds", "0.5")
    try:
        wait_for_kubeconfig(kubeconfig, server)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(root / "home"),  # kubectl's discovery and OpenAPI caches
            "KUBECONFIG": str(kubeconfig),
        }
        yield Kubectl(env)
    finally:
        stop(server)


def test_kubeconfig_is_https_with_a_token(kubectl: Kubectl) -> None:
    config = yaml.safe_load(Path(kubectl.env["KUBECONFIG"]).read_text())
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"].startswith("https://127.0.0.1:") and cluster["certificate-authority-data"]
    assert config["users"][0]["user"]["token"]
    names = kubectl("get", "namespaces", "-o", "name").stdout.split()
    assert names == [f"namespace/{n}" for n in ("default", "kube-node-lease", "kube-public", "kube-system")]
    assert "openapi/v3" in kubectl("get", "--raw", "/openapi/v3").stdout


def test_a_person_works_with_kubectl(kubectl: Kubectl) -> None:  # noqa: PLR0915 - one session, step by step
    # apply (client-side) of a folder of real-world manifests
    kubectl("apply", "-f", str(FIXTURES / "namespace.yaml"))
    kubectl("apply", "-f", str(APP / "crontab-crd.yaml"))
    kubectl("wait", "--for", "condition=Established", "crd/crontabs.stable.example.com", "--timeout=60s")
    applied = kubectl("apply", "-n", "shop", "-f", str(APP)).stdout
    assert applied.count(" created") == APP_OBJECTS - 1 and "crontabs.stable.example.com unchanged" in applied

    # validation by the server: an unknown field is refused, naming it
    bad = kubectl(
        "apply",
        "-n",
        "shop",
        "-f",
        "-",
        ok=False,
        stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo}\ndata: {a: b}\nspecc: {}\n",
    )
    assert bad.returncode == 1 and 'unknown field "specc"' in bad.stderr

    # apply --server-side: over what client-side apply made, and into a fresh namespace
    ssa = kubectl("apply", "--server-side", "-n", "shop", "-f", str(APP)).stdout
    assert ssa.count("serverside-applied") == APP_OBJECTS
    kubectl(
        "apply",
        "--server-side",
        "-f",
        "-",
        stdin="apiVersion: v1\nkind: Namespace\nmetadata: {name: shop-ssa}\n",
    )
    fresh = kubectl("apply", "--server-side", "-n", "shop-ssa", "-f", str(APP)).stdout
    assert fresh.count("serverside-applied") == APP_OBJECTS
    managers = kubectl.jsonpath(
        "deployment", "web", "-n", "shop-ssa", path="{.metadata.managedFields[*].manager}"
    )
    assert managers.split()[0] == "kubectl"

    # rollout status succeeds for a healthy Deployment
    status = kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=60s").stdout
    assert 'deployment "web" successfully rolled out' in status

    # get: table (also -o wide and for a custom resource), -o yaml, -o jsonpath
    table = kubectl("get", "deployments", "-n", "shop").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table[1].split()[:4] == ["web", "2/2", "2", "2"]
    wide = kubectl("get", "deployment", "web", "-n", "shop", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[5:] == ["CONTAINERS", "IMAGES", "SELECTOR"] and "nginx:1.27.4" in wide[1]
    crontabs = kubectl("get", "crontabs", "-n", "shop").stdout.splitlines()
    assert crontabs[0].split() == ["NAME", "SPEC", "REPLICAS", "AGE"] and "* * * * */5" in crontabs[1]
    live = yaml.safe_load(kubectl("get", "deployment", "web", "-n", "shop", "-o", "yaml").stdout)
    assert live["spec"]["replicas"] == 2 and live["spec"]["strategy"]["type"] == "RollingUpdate"
    resources = live["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"]["cpu"] == "100m"  # 0.1 as the API server stores it
    image = kubectl.jsonpath(
        "deployment", "web", "-n", "shop", path="{.spec.template.spec.containers[0].image}"
    )
    assert image == "nginx:1.27.4"

    # diff: 0 when equal, 1 after a change (kubectl scale), naming the field
    assert kubectl("diff", "-n", "shop", "-f", str(APP), ok=False).returncode == 0
    assert "scaled" in kubectl("scale", "deployment/web", "-n", "shop", "--replicas=3").stdout
    assert kubectl.jsonpath("deployment", "web", "-n", "shop", path="{.spec.replicas}") == "3"
    changed = kubectl("diff", "-n", "shop", "-f", str(APP), ok=False)
    assert (
        changed.returncode == 1 and "-  replicas: 3" in changed.stdout and "+  replicas: 2" in changed.stdout
    )

    # set image, label, annotate
    kubectl("set", "image", "deployment/web", "-n", "shop", "nginx=nginx:1.28.0")
    image = kubectl.jsonpath(
        "deployment", "web", "-n", "shop", path="{.spec.template.spec.containers[0].image}"
    )
    assert image == "nginx:1.28.0"
    kubectl("label", "deployment", "web", "-n", "shop", "tier=frontend")
    kubectl("annotate", "deployment", "web", "-n", "shop", "owner=team-a")
    marks = kubectl.jsonpath(
        "deployment", "web", "-n", "shop", path="{.metadata.labels.tier} {.metadata.annotations.owner}"
    )
    assert marks == "frontend team-a"

    # patch: strategic (a container merged in by name), merge, json
    sidecar = '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}'
    kubectl("patch", "deployment", "web", "-n", "shop", "-p", sidecar)
    names = kubectl.jsonpath(
        "deployment", "web", "-n", "shop", path="{.spec.template.spec.containers[*].name}"
    )
    assert names == "nginx sidecar"
    kubectl(
        "patch", "deployment", "web", "-n", "shop", "--type", "merge", "-p", '{"spec":{"minReadySeconds":5}}'
    )
    assert kubectl.jsonpath("deployment", "web", "-n", "shop", path="{.spec.minReadySeconds}") == "5"
    remove = (
        '[{"op":"remove","path":"/spec/template/spec/containers/1"},'
        '{"op":"replace","path":"/spec/replicas","value":2}]'
    )
    kubectl("patch", "deployment", "web", "-n", "shop", "--type", "json", "-p", remove)
    after = kubectl.jsonpath(
        "deployment", "web", "-n", "shop", path="{.spec.replicas} {.spec.template.spec.containers[*].name}"
    )
    assert after == "2 nginx"

    # edit, driven by a non-interactive editor
    editor = {"KUBE_EDITOR": f"{sys.executable} {FIXTURES / 'editor.py'}"}
    edited = kubectl(
        "edit",
        "configmap",
        "web-config",
        "-n",
        "shop",
        env={**editor, "EDIT_FROM": "LOG_LEVEL: info", "EDIT_TO": "LOG_LEVEL: debug"},
    )
    assert "edited" in edited.stdout
    assert kubectl.jsonpath("configmap", "web-config", "-n", "shop", path="{.data.LOG_LEVEL}") == "debug"
    kubectl(
        "edit",
        "deployment",
        "web",
        "-n",
        "shop",
        env={**editor, "EDIT_FROM": "minReadySeconds: 5", "EDIT_TO": "minReadySeconds: 7"},
    )
    assert kubectl.jsonpath("deployment", "web", "-n", "shop", path="{.spec.minReadySeconds}") == "7"

    # rollout status waits for the edited Deployment, and times out for an unpullable image
    status = kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=60s").stdout
    assert 'deployment "web" successfully rolled out' in status
    kubectl("apply", "-n", "shop", "-f", str(FIXTURES / "broken-deployment.yaml"))
    stuck = kubectl("rollout", "status", "deployment/broken", "-n", "shop", "--timeout=3s", ok=False)
    assert stuck.returncode == 1 and "timed out waiting for the condition" in stuck.stderr

    # delete: one object, by label, a namespace with its contents
    assert 'job.batch "pi" deleted' in kubectl("delete", "job", "pi", "-n", "shop").stdout
    assert "NotFound" in kubectl("get", "job", "pi", "-n", "shop", ok=False).stderr
    gone = kubectl(
        "delete", "configmaps,secrets", "-n", "shop", "-l", "app.kubernetes.io/part-of=shop"
    ).stdout
    assert 'configmap "web-config" deleted' in gone and 'secret "db-credentials" deleted' in gone
    left = kubectl("get", "configmaps,secrets", "-n", "shop", "-l", "app.kubernetes.io/part-of=shop")
    assert "No resources found" in left.stderr
    kubectl("delete", "namespace", "shop-ssa")
    assert "NotFound" in kubectl("get", "namespace", "shop-ssa", ok=False).stderr
    assert "No resources found" in kubectl("get", "deployments,crontabs", "-n", "shop-ssa").stderr


def test_get_watch_shows_a_change(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", stdin="apiVersion: v1\nkind: Namespace\nmetadata: {name: watched}\n")
    kubectl("apply", "-n", "watched", "-f", str(APP / "configmap.yaml"), "-f", str(APP / "secret.yaml"))
    kubectl("apply", "-n", "watched", "-f", str(APP / "deployment.yaml"))
    watcher = subprocess.Popen(
        ["kubectl", "get", "deployments", "-n", "watched", "--watch", "--request-timeout=60s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kubectl.env,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert watcher.stdout is not None
        for line in watcher.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        assert lines.get(timeout=60).split()[:2] == ["NAME", "READY"]  # the table's header, once
        assert lines.get(timeout=60).split()[0] == "web"  # the current state
        kubectl("scale", "deployment/web", "-n", "watched", "--replicas=5")
        seen: list[str] = []
        while not any(re.match(r"web\s+\d+/5\s", line) for line in seen):
            seen.append(lines.get(timeout=60))
        assert not any(line.startswith("NAME") for line in seen)
    finally:
        watcher.terminate()
        watcher.wait(timeout=20)
