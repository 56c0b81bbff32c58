"""The emulator's REST server as HTTP clients see it: auth, discovery, lists,
watch, faults, and the ``gitops-agent emulator serve`` process surviving a kill."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

from agent.cluster.kube import KubeCluster
from agent.emulator import EmulatedCluster, EmulatorServer, Options, write_kubeconfig
from agent.kube.errors import ClusterError, NotFound
from tests.support.emulator import ours, serve
from tests.support.waits import wait_for_kubeconfig


class Api:
    """A plain HTTP client with keep-alive off, so each call is independent."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "",
        ctype: str = "application/json",
    ) -> tuple[int, Any, dict[str, str]]:
        headers = {"Content-Type": ctype}
        token = self.server.token if token == "" else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(self.server.url + path, method=method, data=data, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - http://127.0.0.1 only
                text = resp.read()
                return resp.status, _decode(text), {k.lower(): v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as e:
            return e.code, _decode(e.read()), {k.lower(): v for k, v in e.headers.items()}


def _decode(text: bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError:
        return text.decode()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[EmulatedCluster, EmulatorServer, Api]]:
    cluster = EmulatedCluster(tmp_path / "cluster.db", Options(time_factor=0.001))
    server = EmulatorServer(cluster).start()
    server.app.bookmark_seconds = 0.05
    yield cluster, server, Api(server)
    server.stop()
    cluster.close()


def cm(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": {"k": "v"},
    }


def setup_namespace(api: Api) -> None:
    status, _, _ = api.call(
        "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}}
    )
    assert status == 201


def test_bearer_token_required(served: tuple[EmulatedCluster, EmulatorServer, Api]) -> None:
    _, _, api = served
    status, body, _ = api.call("GET", "/api/v1/namespaces", token=None)
    assert status == 401 and body["kind"] == "Status" and body["reason"] == "Unauthorized"
    assert api.call("GET", "/api/v1/namespaces", token="wrong")[0] == 401
    assert api.call("GET", "/healthz", token=None)[0] == 200
    assert api.call("GET", "/api/v1/namespaces")[0] == 200


def test_discovery_documents(served: tuple[EmulatedCluster, EmulatorServer, Api]) -> None:
    _, _, api = served
    assert api.call("GET", "/version")[1]["minor"] == "33"
    assert api.call("GET", "/api")[1]["versions"] == ["v1"]
    groups = {g["name"]: g for g in api.call("GET", "/apis")[1]["groups"]}
    assert groups["apps"]["preferredVersion"]["version"] == "v1"
    assert groups["autoscaling"]["preferredVersion"]["version"] == "v2"
    resources = {r["name"]: r for r in api.call("GET", "/apis/apps/v1")[1]["resources"]}
    assert resources["deployments"]["namespaced"] and "deployments/status" in resources
    core = {r["name"]: r for r in api.call("GET", "/api/v1")[1]["resources"]}
    assert core["namespaces"]["namespaced"] is False and core["configmaps"]["shortNames"] == ["cm"]
    assert api.call("GET", "/apis/nothing.example.com/v1")[0] == 404


def test_paging_and_selectors(served: tuple[EmulatedCluster, EmulatorServer, Api]) -> None:
    _, _, api = served
    setup_namespace(api)
    for i in range(5):
        api.call("POST", "/api/v1/namespaces/app/configmaps", cm(f"c{i}", {"tier": "a" if i % 2 else "b"}))
    status, first, _ = api.call("GET", "/api/v1/namespaces/app/configmaps?limit=2&labelSelector=tier")
    assert status == 200 and [o["metadata"]["name"] for o in first["items"]] == ["c0", "c1"]
    assert "remainingItemCount" not in first["metadata"]  # the API server does not count under a selector
    token = first["metadata"]["continue"]
    rest = api.call("GET", f"/api/v1/namespaces/app/configmaps?limit=10&labelSelector=tier&continue={token}")[
        1
    ]
    assert [o["metadata"]["name"] for o in rest["items"]] == ["c2", "c3", "c4"] and "continue" not in rest[
        "metadata"
    ]
    picked = api.call("GET", "/api/v1/configmaps?labelSelector=tier%20in%20(a),!missing")[1]
    assert [o["metadata"]["name"] for o in picked["items"]] == ["c1", "c3"]
    named = api.call("GET", "/api/v1/configmaps?fieldSelector=metadata.name%3Dc4")[1]
    assert [o["metadata"]["name"] for o in named["items"]] == ["c4"]
    assert api.call("GET", "/api/v1/configmaps?fieldSelector=data.k%3Dv")[0] == 400
    status, gone, _ = api.call("DELETE", "/api/v1/namespaces/app/configmaps?labelSelector=tier%3Db")
    assert status == 200 and len(gone["items"]) == 3
    left = api.call("GET", "/api/v1/namespaces/app/configmaps")[1]
    assert [o["metadata"]["name"] for o in ours(left["items"])] == ["c1", "c3"]


def test_watch_from_a_resource_version_with_bookmarks(
    served: tuple[EmulatedCluster, EmulatorServer, Api],
) -> None:
    _, _, api = served
    setup_namespace(api)
    _, made, _ = api.call("POST", "/api/v1/namespaces/app/configmaps", cm("a"))
    rv = made["metadata"]["resourceVersion"]
    api.call(
        "PATCH",
        "/api/v1/namespaces/app/configmaps/a",
        {"data": {"k": "2"}},
        ctype="application/merge-patch+json",
    )
    api.call("DELETE", "/api/v1/namespaces/app/configmaps/a")
    status, events, _ = api.call(
        "GET",
        f"/api/v1/namespaces/app/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=1&allowWatchBookmarks=true",
    )
    assert status == 200
    kinds = [e["type"] for e in events if e["type"] != "BOOKMARK"]
    assert kinds == ["MODIFIED", "DELETED"]
    assert events[0]["object"]["data"] == {"k": "2"}
    assert any(
        e["type"] == "BOOKMARK" and int(e["object"]["metadata"]["resourceVersion"]) > int(rv) for e in events
    )


def test_watch_too_old_is_410_expired(tmp_path: Path) -> None:
    cluster = EmulatedCluster(tmp_path / "c.db")
    cluster.store.events_kept = 10
    server = EmulatorServer(cluster).start()
    try:
        api = Api(server)
        setup_namespace(api)
        for i in range(40):
            api.call("POST", "/api/v1/namespaces/app/configmaps", cm(f"c{i}"))
        status, events, _ = api.call("GET", "/api/v1/configmaps?watch=1&resourceVersion=2&timeoutSeconds=1")
        events = events if isinstance(events, list) else [events]
        assert status == 200 and events[0]["type"] == "ERROR"
        assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"
    finally:
        server.stop()
        cluster.close()


def test_official_client_watch_sees_changes(
    served: tuple[EmulatedCluster, EmulatorServer, Api], tmp_path: Path
) -> None:
    _, server, api = served
    setup_namespace(api)
    path = write_kubeconfig(tmp_path / "kubeconfig", server.url, server.token)
    core = k8s.CoreV1Api(k8s_config.new_client_from_config(config_file=str(path)))
    listed = core.list_namespaced_config_map("app")
    api.call("POST", "/api/v1/namespaces/app/configmaps", cm("seen"))
    stream = k8s_watch.Watch().stream(
        core.list_namespaced_config_map,
        "app",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=1,
    )
    names = [(e["type"], e["object"].metadata.name) for e in stream]
    assert names == [("ADDED", "seen")]
    core.api_client.close()


def test_a_watch_starting_on_many_objects_gets_each_once(
    served: tuple[EmulatedCluster, EmulatorServer, Api], tmp_path: Path
) -> None:
    """The initial events go out in chunks of many lines; the official
    client's watch still sees every object once, then the changes of its
    kind and none of another's."""
    _, server, api = served
    setup_namespace(api)
    for i in range(300):
        body = {**cm(f"c{i:03d}"), "data": {"blob": "x" * 400}}
        assert api.call("POST", "/api/v1/namespaces/app/configmaps", body)[0] == 201
    path = write_kubeconfig(tmp_path / "kubeconfig", server.url, server.token)
    core = k8s.CoreV1Api(k8s_config.new_client_from_config(config_file=str(path)))
    seen: list[tuple[str, str]] = []
    watcher = k8s_watch.Watch()
    for event in watcher.stream(core.list_namespaced_config_map, "app", timeout_seconds=2):
        if event["object"].metadata.name == "kube-root-ca.crt":
            continue
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 300:
            secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "app"}}
            assert api.call("POST", "/api/v1/namespaces/app/secrets", secret)[0] == 201
            assert api.call("POST", "/api/v1/namespaces/app/configmaps", cm("late"))[0] == 201
        if len(seen) == 301:
            watcher.stop()
    assert seen[:300] == [("ADDED", f"c{i:03d}") for i in range(300)]
    assert seen[300:] == [("ADDED", "late")]
    core.api_client.close()


def test_server_side_apply_answers_201_when_it_creates(
    served: tuple[EmulatedCluster, EmulatorServer, Api],
) -> None:
    _, _, api = served
    setup_namespace(api)
    path = "/api/v1/namespaces/app/configmaps/applied?fieldManager=me"
    ctype = "application/apply-patch+yaml"
    status, made, _ = api.call("PATCH", path, cm("applied"), ctype=ctype)
    assert status == 201 and made["metadata"]["managedFields"][0]["operation"] == "Apply"
    status, again, _ = api.call("PATCH", path, {**cm("applied"), "data": {"k": "2"}}, ctype=ctype)
    assert status == 200 and again["data"] == {"k": "2"}
    assert again["metadata"]["uid"] == made["metadata"]["uid"]


def test_faults_errors_latency_and_down(served: tuple[EmulatedCluster, EmulatorServer, Api]) -> None:
    cluster, _, api = served
    setup_namespace(api)
    rules = {"errors": [{"code": 429, "verbs": ["list"], "kinds": ["ConfigMap"], "retryAfterSeconds": 3}]}
    assert api.call("PUT", "/emulator/v1/faults", rules)[0] == 200
    status, body, headers = api.call("GET", "/api/v1/namespaces/app/configmaps")
    assert status == 429 and body["reason"] == "TooManyRequests" and headers["retry-after"] == "3"
    assert api.call("GET", "/api/v1/namespaces/app/secrets")[0] == 200  # other kinds unaffected
    cluster.faults.update(errors=[{"code": 500, "verbs": ["create"]}])
    status, body, _ = api.call("POST", "/api/v1/namespaces/app/configmaps", cm("x"))
    assert status == 500 and body["reason"] == "InternalError"
    assert cluster.registry.read(cluster.resource_type("v1", "ConfigMap"), "x", "app") is None
    assert api.call("PUT", "/emulator/v1/faults", {"down": True})[0] == 200
    assert api.call("GET", "/api/v1/namespaces")[0] == 503
    assert api.call("GET", "/healthz", token=None)[0] == 503
    assert api.call("GET", "/emulator/v1/faults")[1]["down"] is True  # reachable while down
    assert api.call("GET", "/emulator/v1/faults", token=None)[0] == 401  # and still authenticated
    assert cluster.store.get_meta("faults") is None  # run-time rules last for the run
    assert api.call("PUT", "/emulator/v1/faults", {"down": False})[0] == 200  # undone over the API
    assert api.call("GET", "/api/v1/namespaces")[0] == 200
    assert api.call("PUT", "/emulator/v1/faults?persist=true", {"latencyMs": 1})[0] == 200
    assert json.loads(cluster.store.get_meta("faults") or "{}")["latencyMs"] == 1  # persisted when asked


def test_faults_in_process_and_crash_loops(tmp_path: Path) -> None:
    cluster = EmulatedCluster(tmp_path / "c.db", Options(faults=None))
    try:
        cluster.faults.update(errors=[{"code": 503, "verbs": ["get"], "rate": 1.0}])
        with pytest.raises(Exception) as e:
            cluster.get("v1", "Namespace", "default")
        assert getattr(e.value, "code", None) == 503
        cluster.faults.update(errors=[], crashLoopImages=["*/crasher:*"])
        cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}})
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "j", "namespace": "app"},
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x/crasher:1"}]}
                }
            },
        }
        cluster.create(job)
        live = cluster.get("batch/v1", "Job", "j", "app") or {}
        reasons = {c["type"]: c["reason"] for c in live["status"]["conditions"]}
        assert reasons["Failed"] == "BackoffLimitExceeded" and live["status"]["failed"] == 7
    finally:
        cluster.close()


def test_serve_survives_a_kill_and_prints_its_kubeconfig(tmp_path: Path) -> None:
    db, kubeconfig = tmp_path / "cluster.db", tmp_path / "kubeconfig"
    proc = serve(db, kubeconfig)
    try:
        wait_for_kubeconfig(kubeconfig, proc)
        client = KubeCluster.from_kubeconfig(kubeconfig, discovery_cache=tmp_path / "d1.json")
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}})
        for i in range(20):
            client.create(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}", "namespace": "app"}}
            )
        client.close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc = serve(db, kubeconfig)
    try:
        config = wait_for_kubeconfig(kubeconfig, proc)
        client = KubeCluster.from_kubeconfig(kubeconfig, discovery_cache=tmp_path / "d2.json")
        assert len(ours(client.list("v1", "ConfigMap", "app"))) == 20
        client.close()
        printed = subprocess.run(
            [sys.executable, "-m", "agent", "emulator", "kubeconfig", "--db", str(db)],
            capture_output=True,
            check=True,
        )
        assert yaml.safe_load(printed.stdout)["clusters"] == config["clusters"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def test_no_auth_server_and_its_kubeconfig(tmp_path: Path) -> None:
    from agent.emulator import saved_kubeconfig

    cluster = EmulatedCluster(tmp_path / "c.db")
    server = EmulatorServer(cluster, token="").start()
    try:
        assert Api(server).call("GET", "/api/v1/namespaces", token=None)[0] == 200
        doc = saved_kubeconfig(cluster)
        assert doc is not None and doc["users"][0]["user"] == {}
        assert doc["clusters"][0]["cluster"]["server"] == server.url
    finally:
        server.stop()
        cluster.close()


def test_kube_client_writes_carry_auth_and_map_errors(
    served: tuple[EmulatedCluster, EmulatorServer, Api], tmp_path: Path
) -> None:
    """Writes of agent.cluster.kube go through its own transport: the token,
    the field manager and the API server's errors (Retry-After included)
    must come through as with the official client's paths."""
    cluster, server, api = served
    setup_namespace(api)
    client = KubeCluster.from_kubeconfig(write_kubeconfig(tmp_path / "kubeconfig", server.url, server.token))
    try:
        made = client.create(
            {**cm("one"), "metadata": {"name": "one", "namespace": "app"}}, field_manager="me"
        )
        assert made["metadata"]["managedFields"][0]["manager"] == "me"
        applied = client.apply(
            {**cm("one"), "metadata": {"name": "one", "namespace": "app"}, "data": {"k": "w"}},
            field_manager="other",
            force=True,
        )
        assert applied["data"] == {"k": "w"}
        cluster.faults.update(errors=[{"code": 429, "verbs": ["create"], "retryAfterSeconds": 3}])
        with pytest.raises(ClusterError) as raised:
            client.create({**cm("two"), "metadata": {"name": "two", "namespace": "app"}})
        assert raised.value.code == 429 and raised.value.retry_after == 3
        cluster.faults.update(errors=[])
        with pytest.raises(NotFound):
            client.delete("v1", "ConfigMap", "missing", "app")
        assert client.delete("v1", "ConfigMap", "one", "app") is not None
        assert cluster.get("v1", "ConfigMap", "one", "app") is None
    finally:
        client.close()


def test_kinds_looked_up_side_by_side_on_a_fresh_client(
    served: tuple[EmulatedCluster, EmulatorServer, Api], tmp_path: Path
) -> None:
    """Reads run in parallel threads; their first lookups of kinds (lazy
    discovery, not safe for threads in the client) must not trip over each
    other.  Fresh clients, no discovery ahead, eight kinds at once."""
    _, server, api = served
    setup_namespace(api)
    kinds = [
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("batch/v1", "Job"),
        ("networking.k8s.io/v1", "Ingress"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("example.com/v1", "Widget"),  # no such kind: a NotFound, and a refreshed cache
    ]

    def listed(client: KubeCluster, kind: tuple[str, str]) -> list[dict[str, Any]] | None:
        try:
            return ours(client.list(kind[0], kind[1], "app"))
        except NotFound:
            return None

    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url, server.token)
    for attempt in range(12):
        client = KubeCluster.from_kubeconfig(kubeconfig, discovery_cache=tmp_path / f"d{attempt}.json")
        try:
            with ThreadPoolExecutor(max_workers=len(kinds)) as pool:
                found = list(pool.map(lambda k, c=client: listed(c, k), kinds))
            assert found == [[] for _ in kinds[:-1]] + [None]
            version, served_apis = client.server_info()
            assert version.startswith("v1.") and "batch/v1/Job" in served_apis
            assert "apps/v1/DeploymentList" not in served_apis  # kinds the server serves, nothing else
        finally:
            client.close()


def test_built_in_kinds_need_no_discovery(
    served: tuple[EmulatedCluster, EmulatorServer, Api], tmp_path: Path
) -> None:
    """Reads, writes and watches of built-in kinds go straight to their
    endpoints; only a custom resource makes the client ask discovery."""
    _, server, _ = served
    client = KubeCluster.from_kubeconfig(
        write_kubeconfig(tmp_path / "kubeconfig", server.url, server.token),
        discovery_cache=tmp_path / "d.json",
    )
    try:
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}})
        made = client.apply({**cm("a"), "metadata": {"name": "a", "namespace": "app"}}, field_manager="me")
        assert made["data"] == {"k": "v"}
        scaled = client.apply(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "app"},
                "spec": {
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                    },
                },
            },
            field_manager="me",
        )
        assert scaled["spec"]["replicas"] == 1
        client.patch("apps/v1", "Deployment", "web", "app", {"spec": {"replicas": 3}}, subresource="scale")
        assert (client.get("apps/v1", "Deployment", "web", "app") or {})["spec"]["replicas"] == 3
        client.patch(
            "v1", "ConfigMap", "a", "app", [{"op": "add", "path": "/data/n", "value": "1"}], patch_type="json"
        )
        assert [o["data"] for o in ours(client.list("v1", "ConfigMap", "app"))] == [{"k": "v", "n": "1"}]
        events = [(t, o) for t, o in client.watch("v1", "ConfigMap", "app", timeout=1) if ours([o])]
        assert [(t, o["metadata"]["name"]) for t, o in events] == [("ADDED", "a")]
        client.delete("v1", "ConfigMap", "a", "app")
        assert client.get("v1", "ConfigMap", "a", "app") is None
        assert client._dynamic is None  # no discovery so far
        with pytest.raises(NotFound):
            client.list("example.com/v1", "Widget", "app")
        assert client._dynamic is not None  # an unknown kind is looked up
    finally:
        client.close()


class _ConnectProxy(socketserver.ThreadingTCPServer):
    """An HTTP CONNECT proxy on loopback that remembers where it tunnelled."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.tunnels: list[str] = []
        super().__init__(("127.0.0.1", 0), _Tunnel)


class _Tunnel(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        request = self.rfile.readline().decode()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        method, target, _ = request.split(" ", 2)
        assert isinstance(self.server, _ConnectProxy)
        self.server.tunnels.append(f"{method} {target}")
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()

        def pipe(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=pipe, args=(upstream, self.connection), daemon=True)
        back.start()
        pipe(self.connection, upstream)
        back.join(timeout=5)
        upstream.close()


def test_requests_go_through_the_kubeconfigs_proxy(tmp_path: Path) -> None:
    """``proxy-url`` in the kubeconfig: every request (reads, writes,
    watches) goes through the proxy, over a tunnel to the TLS server."""
    cluster = EmulatedCluster(tmp_path / "c.db")
    server = EmulatorServer(cluster, tls=True).start()
    proxy = _ConnectProxy()
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        config = server.kubeconfig()
        config["clusters"][0]["cluster"]["proxy-url"] = f"http://127.0.0.1:{proxy.server_address[1]}"
        path = tmp_path / "kubeconfig"
        path.write_text(yaml.safe_dump(config))
        client = KubeCluster.from_kubeconfig(path, discovery_cache=tmp_path / "d.json")
        try:
            client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}})
            client.apply({**cm("a"), "metadata": {"name": "a", "namespace": "app"}}, field_manager="me")
            assert [o["metadata"]["name"] for o in ours(client.list("v1", "ConfigMap", "app"))] == ["a"]
            assert [t for t, o in client.watch("v1", "ConfigMap", "app", timeout=1) if ours([o])] == ["ADDED"]
        finally:
            client.close()
        assert proxy.tunnels and all(t == f"CONNECT 127.0.0.1:{server.port}" for t in proxy.tunnels)
    finally:
        proxy.shutdown()
        proxy.server_close()
        server.stop()
        cluster.close()


def test_a_watch_through_autoscaling_v1_sends_v1_objects(
    served: tuple[EmulatedCluster, EmulatorServer, Api],
) -> None:
    """One stored autoscaler, watched through the version it is converted to."""
    _, _, api = served
    setup_namespace(api)
    cpu = {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 65}},
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3, "metrics": [cpu]},
    }
    status, made, _ = api.call("POST", "/apis/autoscaling/v2/namespaces/app/horizontalpodautoscalers", hpa)
    assert status == 201
    rv = made["metadata"]["resourceVersion"]
    api.call(
        "PATCH",
        "/apis/autoscaling/v2/namespaces/app/horizontalpodautoscalers/web",
        {"spec": {"maxReplicas": 4}},
        ctype="application/merge-patch+json",
    )
    path = "/apis/autoscaling/v1/namespaces/app/horizontalpodautoscalers"
    status, events, _ = api.call("GET", f"{path}?watch=true&resourceVersion={rv}&timeoutSeconds=1")
    assert status == 200
    changed = [e["object"] for e in events if e["type"] == "MODIFIED"]
    assert changed and all(o["apiVersion"] == "autoscaling/v1" for o in changed)
    assert changed[-1]["spec"] == {
        "scaleTargetRef": {"kind": "Deployment", "name": "web"},
        "minReplicas": 1,
        "maxReplicas": 4,
        "targetCPUUtilizationPercentage": 65,
    }
