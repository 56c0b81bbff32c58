"""Drift against the emulated cluster: no false alarm on a realistic corpus,
every real change caught and attributed, ignore rules silencing exactly what
they name.  Out-of-band changes are made over HTTP, through the official
client, under the field manager a person or a controller would use."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agent.diff import ABSENT
from agent.models import ChangeKind, DiffStatus, FieldChange, ObjectKey
from agent.sync.pipeline import reconcile
from agent.sync.status import drift
from tests.support.drift import SHOP, change_out_of_band, corpus_repo, make_ctx
from tests.support.emulator import backend

WEB = ObjectKey("apps", "Deployment", SHOP, "web")
WORKER = ObjectKey("apps", "Deployment", SHOP, "worker")
ECHO = ObjectKey("apps", "Deployment", SHOP, "echo")
DB = ObjectKey("apps", "StatefulSet", SHOP, "db")
WEB_SVC = ObjectKey("", "Service", SHOP, "web")
NODEPORT = ObjectKey("", "Service", SHOP, "web-nodeport")
INGRESS = ObjectKey("networking.k8s.io", "Ingress", SHOP, "web")
SECRET = ObjectKey("", "Secret", SHOP, "db-credentials")
CONFIG = ObjectKey("", "ConfigMap", SHOP, "web-config")
PDB = ObjectKey("policy", "PodDisruptionBudget", SHOP, "db")
INTRUDER = ObjectKey("", "ConfigMap", SHOP, "intruder")


@pytest.mark.parametrize("mode", ["emulated", "kube-http"])
def test_corpus_has_no_false_drift(tmp_path: Path, mode: str) -> None:
    repo = corpus_repo(tmp_path / "repo")
    with backend(tmp_path, mode) as b:
        ctx, cfg = make_ctx(tmp_path, repo, b.client, strictDrift=True)
        app = cfg.apps[0]
        synced = reconcile(ctx, app)
        assert synced.ok, synced.failure
        created = [e.key for e in synced.changeset.entries]
        assert len(created) >= 30
        kinds = Counter(k.kind for k in created)
        for kind in (
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "Service",
            "Secret",
            "ConfigMap",
            "Ingress",
            "Job",
            "CronJob",
            "Role",
            "RoleBinding",
            "ClusterRole",
            "ClusterRoleBinding",
            "ServiceAccount",
            "CustomResourceDefinition",
            "Widget",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "NetworkPolicy",
            "PersistentVolumeClaim",
        ):
            assert kinds[kind], kind
        report = drift(ctx, app)  # strict mode: fields others wrote would show too
        assert report.failure is None
        assert [(str(d.key), d.changes) for d in report.drifted] == []
        assert len(report.diffs) == len(created)
        writes = b.engine.writes
        again = reconcile(ctx, app)
        assert again.ok and again.changeset.summary() == {"unchanged": len(created)}
        assert b.engine.writes == writes  # nothing to write: the diff agrees with the server


def _changes(report: Any) -> dict[tuple[str, str], FieldChange]:
    return {(str(d.key), c.path): c for d in report.drifted for c in d.changes}


def _check(c: FieldChange, desired: Any, live: Any, kind: ChangeKind, manager: str) -> None:
    assert (c.desired, c.live, c.kind, c.manager) == (desired, live, kind, manager)
    if manager:
        assert c.time.endswith("Z")


def test_every_real_change_is_caught_and_attributed(tmp_path: Path) -> None:
    repo = corpus_repo(tmp_path / "repo")
    with backend(tmp_path, "kube-http") as b:
        ctx, cfg = make_ctx(tmp_path, repo, b.client, strictDrift=True)
        app = cfg.apps[0]
        assert reconcile(ctx, app).ok
        clear = change_out_of_band(b)
        report = drift(ctx, app)
        statuses = {d.key: d.status for d in report.drifted}
        assert statuses == {
            WEB: DiffStatus.MODIFIED,
            WORKER: DiffStatus.MODIFIED,
            DB: DiffStatus.MODIFIED,
            ECHO: DiffStatus.MODIFIED,
            WEB_SVC: DiffStatus.MODIFIED,
            NODEPORT: DiffStatus.MODIFIED,
            INGRESS: DiffStatus.MODIFIED,
            SECRET: DiffStatus.MODIFIED,
            CONFIG: DiffStatus.MODIFIED,
            PDB: DiffStatus.MISSING,
            INTRUDER: DiffStatus.EXTRANEOUS,
        }
        got = _changes(report)
        changed, added = ChangeKind.CHANGED, ChangeKind.ADDED_OUT_OF_BAND
        web = "spec.template.spec.containers[name=web]"
        _check(
            got[(str(WEB), f"{web}.image")],
            "registry.example.com/shop/web:2.4.1",
            "registry.example.com/shop/web:2.5.0",
            changed,
            "kubectl-set",
        )
        _check(got[(str(WEB), "spec.replicas")], 3, 5, changed, "kubectl-scale")
        _check(
            got[(str(WORKER), "spec.template.spec.containers[name=worker].env[name=QUEUE_URL].value")],
            "amqp://rabbitmq.shop.svc:5672",
            "amqp://other:5672",
            changed,
            "kubectl-edit",
        )
        _check(
            got[(str(DB), "spec.template.spec.containers[name=postgres].env[name=PGTZ]")],
            ABSENT,
            {"name": "PGTZ", "value": "UTC"},
            added,
            "kubectl-edit",
        )
        # managedFields record who owns a field, not who removed one: no name to give
        _check(got[(str(WEB_SVC), 'metadata.labels["app.kubernetes.io/name"]')], "web", ABSENT, changed, "")
        _check(
            got[(str(INGRESS), 'metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]')],
            "8m",
            "64m",
            changed,
            "kubectl-annotate",
        )
        debug = got[(str(ECHO), "spec.template.spec.containers[name=debug]")]
        assert (debug.kind, debug.manager, debug.live["image"]) == (added, "kubectl-debug", "busybox:1.36")
        _check(got[(str(WEB_SVC), "spec.ports[port=9102].targetPort")], 9102, 9103, changed, "kubectl-edit")
        _check(got[(str(NODEPORT), "spec.ports[port=80].nodePort")], 30080, 30081, changed, "kubectl-patch")
        _check(got[(str(CONFIG), "data.FEATURE_FLAGS")], "checkout,wishlist", ABSENT, changed, "")
        password = got[(str(SECRET), "data.password")]
        assert password.manager == "kubectl-edit"
        assert str(password.desired).startswith("<secret:") and str(password.live).startswith("<secret:")
        assert password.desired != password.live
        intruder = next(d for d in report.drifted if d.key == INTRUDER)
        assert "hello: world" in intruder.unified
        assert len(got) == 11  # nothing else: no false drift next to the real one

        text = repr(report)
        for value in (*clear.values(), "s3cr3t-Pa55word!", base64.b64encode(b"s3cr3t-Pa55word!").decode()):
            assert value not in text

        # without strict mode, additions by others are left out; the rest stays
        ctx2, cfg2 = make_ctx(tmp_path, repo, b.client)
        lenient = _changes(drift(ctx2, cfg2.apps[0]))
        assert set(got) - set(lenient) == {
            (str(DB), "spec.template.spec.containers[name=postgres].env[name=PGTZ]"),
            (str(ECHO), "spec.template.spec.containers[name=debug]"),
        }

        # a sync puts Git back, and then nothing differs
        assert reconcile(ctx, app).ok
        left = drift(ctx, app).drifted
        assert not left, [(str(d.key), [(c.path, c.desired, c.live) for c in d.changes]) for d in left]


def test_ignore_rules_silence_exactly_what_they_name(tmp_path: Path) -> None:
    repo = corpus_repo(tmp_path / "repo")
    rules = [
        {"group": "apps", "kind": "Deployment", "name": "web", "jsonPointers": ["/spec/replicas"]},
        {"kind": "Ingress", "paths": ['metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]']},
        {"kind": "StatefulSet", "paths": ["spec.template.spec.containers[name=postgres].env[name=PGTZ]"]},
        {"kind": "Service", "namespace": SHOP, "paths": ["spec.ports[*].nodePort"]},
        {"kind": "Deployment", "name": "worker", "managedFieldsManagers": ["kubectl-edit"]},
        {"kind": "Deployment", "name": "echo", "managedFieldsManagers": ["kubectl-debug"]},
    ]
    with backend(tmp_path, "kube-http") as b:
        ctx, cfg = make_ctx(tmp_path, repo, b.client, strictDrift=True, ignoreDifferences=rules)
        app = cfg.apps[0]
        assert reconcile(ctx, app).ok
        change_out_of_band(b)
        got = _changes(drift(ctx, app))
        web = "spec.template.spec.containers[name=web]"
        assert set(got) == {
            (str(WEB), f"{web}.image"),  # same object as the ignored replicas: still drift
            (str(WEB_SVC), 'metadata.labels["app.kubernetes.io/name"]'),
            (str(WEB_SVC), "spec.ports[port=9102].targetPort"),  # the rule names nodePort only
            (str(SECRET), "data.password"),
            (str(CONFIG), "data.FEATURE_FLAGS"),
        }
        # a sync restores Git and leaves the ignored fields as they are live
        assert reconcile(ctx, app).ok
        left = drift(ctx, app).drifted
        assert not left, [(str(d.key), [(c.path, c.desired, c.live) for c in d.changes]) for d in left]
        live_web = b.client.get("apps/v1", "Deployment", "web", SHOP)
        assert live_web is not None and live_web["spec"]["replicas"] == 5
        assert live_web["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":2.4.1")
        nodeport = b.client.get("v1", "Service", "web-nodeport", SHOP)
        assert nodeport is not None
        assert {p["port"]: p["nodePort"] for p in nodeport["spec"]["ports"]}[80] == 30081
