"""Defaults of a pod spec, as ``SetDefaults_PodSpec`` and the container and volume
defaulters under it fill them (``pkg/apis/core/v1/defaults.go``, Kubernetes 1.33).

Shared by every kind that carries a pod template (Pods, workloads, Jobs,
CronJobs); the per-kind defaulters are in :mod:`.defaulting`.
"""

from __future__ import annotations

from typing import Any

from agent.emulator.objects import JSON


def set_default(obj: JSON, key: str, value: Any) -> None:
    if obj.get(key) is None:
        obj[key] = value


def _image_pull_policy(image: str) -> str:
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    set_default(probe, "timeoutSeconds", 1)
    set_default(probe, "periodSeconds", 10)
    set_default(probe, "successThreshold", 1)
    set_default(probe, "failureThreshold", 3)
    http = probe.get("httpGet")
    if isinstance(http, dict):
        set_default(http, "scheme", "HTTP")
        set_default(http, "path", "/")
    grpc = probe.get("grpc")
    if isinstance(grpc, dict):
        set_default(grpc, "service", "")


def _container(c: Any) -> None:
    if not isinstance(c, dict):
        return
    if isinstance(c.get("image"), str):
        set_default(c, "imagePullPolicy", _image_pull_policy(c["image"]))
    set_default(c, "terminationMessagePath", "/dev/termination-log")
    set_default(c, "terminationMessagePolicy", "File")
    set_default(c, "resources", {})
    for port in c.get("ports") or ():
        if isinstance(port, dict):
            set_default(port, "protocol", "TCP")
    for env in c.get("env") or ():
        field_ref = (env.get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(field_ref, dict):
            set_default(field_ref, "apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(c.get(probe))


def _volume(v: Any) -> None:
    if not isinstance(v, dict):
        return
    sources = [k for k in v if k != "name"]
    if not sources:
        v["emptyDir"] = {}
    for key in ("secret", "configMap", "projected", "downwardAPI"):
        src = v.get(key)
        if isinstance(src, dict):
            set_default(src, "defaultMode", 420)
    for item in (v.get("downwardAPI") or {}).get("items") or ():
        if isinstance(item, dict) and isinstance(item.get("fieldRef"), dict):
            set_default(item["fieldRef"], "apiVersion", "v1")
    host_path = v.get("hostPath")
    if isinstance(host_path, dict):
        set_default(host_path, "type", "")
    iscsi = v.get("iscsi")
    if isinstance(iscsi, dict):
        set_default(iscsi, "iscsiInterface", "default")
    ephemeral = v.get("ephemeral")
    if isinstance(ephemeral, dict):
        spec = (ephemeral.get("volumeClaimTemplate") or {}).get("spec")
        if isinstance(spec, dict):
            set_default(spec, "volumeMode", "Filesystem")


def pod_spec(spec: Any) -> None:
    """``SetDefaults_PodSpec`` and the container/volume defaults under it."""
    if not isinstance(spec, dict):
        return
    set_default(spec, "dnsPolicy", "ClusterFirst")
    set_default(spec, "restartPolicy", "Always")
    set_default(spec, "terminationGracePeriodSeconds", 30)
    set_default(spec, "securityContext", {})
    set_default(spec, "schedulerName", "default-scheduler")
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or ():
            _container(c)
    for v in spec.get("volumes") or ():
        _volume(v)


def pod_template(spec: JSON) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        pod_spec(template.get("spec"))
