"""The fast schema check agrees with jsonschema on every object it decides."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from agent.render.openapi import DEFAULT_KUBE_VERSION, _definitions, _validator, schema_version
from agent.render.schemacheck import Compiler, checker

VERSION = schema_version(DEFAULT_KUBE_VERSION)

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}, "annotations": {"a": "b"}},
    "spec": {
        "replicas": 2,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "serviceAccountName": "web",
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx:1.27",
                        "imagePullPolicy": "IfNotPresent",
                        "ports": [{"containerPort": 8080, "protocol": "TCP", "name": "http"}],
                        "env": [
                            {"name": "MODE", "value": "prod"},
                            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        ],
                        "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"cpu": 1}},
                        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 5},
                        "livenessProbe": {"tcpSocket": {"port": 8080}},
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/web"}],
                    }
                ],
                "volumes": [{"name": "config", "configMap": {"name": "web"}}],
                "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
            },
        },
    },
}

OBJECTS: list[tuple[str, dict[str, Any]]] = [
    ("io.k8s.api.apps.v1.Deployment", DEPLOYMENT),
    (
        "io.k8s.api.core.v1.Service",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {
                "type": "ClusterIP",
                "selector": {"app": "web"},
                "ports": [
                    {"name": "http", "port": 80, "targetPort": "http"},
                    {"port": 81, "targetPort": 8081},
                ],
            },
        },
    ),
    (
        "io.k8s.api.core.v1.ConfigMap",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}},
    ),
    (
        "io.k8s.api.core.v1.Secret",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"p": "x"}},
    ),
    (
        "io.k8s.api.apps.v1.StatefulSet",
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "spec": {
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": {
                    "metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "db", "image": "redis:7"}]},
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        },
    ),
    (
        "io.k8s.api.networking.v1.Ingress",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web"},
            "spec": {
                "rules": [
                    {
                        "host": "shop.example",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            },
        },
    ),
    (
        "io.k8s.api.batch.v1.CronJob",
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "nightly"},
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {
                    "spec": {
                        "backoffLimit": 1,
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [{"name": "job", "image": "busybox", "args": ["true"]}],
                            }
                        },
                    }
                },
            },
        },
    ),
]

ODD_VALUES: list[Any] = [None, 0, 1, 1.0, 1.5, -1, True, False, "", "x", "25%", [], [1], {}, {"k": "v"}]


def variants(obj: Any) -> Iterator[Any]:
    """``obj`` with one thing changed at a time: every value replaced by each
    odd value, every key removed, an unknown key added to every mapping."""

    def walk(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        yield path
        if isinstance(node, dict):
            for k, v in node.items():
                yield from walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, (*path, i))

    def changed(path: tuple[Any, ...], change: Any) -> Any:
        out = copy.deepcopy(obj)
        parent = out
        for step in path[:-1]:
            parent = parent[step]
        change(parent, path[-1])
        return out

    for path in list(walk(obj, ())):
        if not path:
            continue
        for value in ODD_VALUES:
            yield changed(path, lambda p, k, v=value: p.__setitem__(k, v))
        yield changed(path, lambda p, k: p.__delitem__(k) if isinstance(p, dict) else p.pop(k))
        yield changed(path, lambda p, k: p[k].__setitem__("bogus", 1) if isinstance(p[k], dict) else None)


@pytest.mark.parametrize(("definition", "obj"), OBJECTS, ids=[o["kind"] for _, o in OBJECTS])
def test_fast_check_agrees_with_jsonschema(definition: str, obj: dict[str, Any]) -> None:
    doc, _ = _definitions(VERSION)
    check = checker(Compiler(doc["$defs"]), definition)
    validator = _validator(VERSION, definition)
    assert check(obj) is True
    assert not list(validator.iter_errors(obj))
    decided = rejected = 0
    for variant in variants(obj):
        verdict = check(variant)
        if verdict is None:
            continue
        decided += 1
        valid = not any(True for _ in validator.iter_errors(variant))
        assert verdict == valid, variant
        rejected += not verdict
    assert decided > 100
    assert rejected > decided // 4  # the variants do exercise the schema


def test_unknown_keywords_defer_to_jsonschema() -> None:
    compiler = Compiler(
        {
            "A": {"type": "object", "properties": {"n": {"$ref": "#/$defs/B"}}},
            "B": {"type": "integer", "minimum": 1},
        }
    )
    check = checker(compiler, "A")
    assert check({}) is True  # B is compiled only when an object reaches it
    assert check({"n": 5}) is None  # minimum is not implemented: jsonschema decides
    assert checker(Compiler({"C": {"pattern": "^a"}}), "C")("a") is None


def test_null_is_neither_branch_of_int_or_string() -> None:
    doc, _ = _definitions(VERSION)
    check = checker(Compiler(doc["$defs"]), "io.k8s.apimachinery.pkg.util.intstr.IntOrString")
    assert check(8080) is True
    assert check("http") is True
    assert check(None) is False  # both branches allow null: oneOf fails, as jsonschema says
    assert check(1.5) is False
