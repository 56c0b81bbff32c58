"""Validation of built-in kinds: what makes an object Invalid (422), kind by kind.

The checks and their messages follow the API server's validation
(``pkg/apis/core/validation``, ``pkg/apis/apps/validation``,
``pkg/apis/batch/validation``, Kubernetes 1.33): required fields, names and
labels (:mod:`.causes`), selectors that must match their template, pod specs,
Service ports, config keys, CRD names.  One function per kind family in
:data:`KIND_CHECKS`; the checks of an update (fields that may not change)
are in :mod:`.immutability`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from agent.emulator.admission.causes import (
    DNS1123_LABEL,
    Cause,
    annotation_causes,
    invalid,
    label_causes,
    name_causes,
    required,
    selector_matches,
    unsupported,
)
from agent.emulator.admission.crdschema import schema_causes
from agent.emulator.admission.microtime import MicroTimeError
from agent.emulator.admission.microtime import check as check_micro_time
from agent.kube.errors import BadRequest
from agent.kube.kinds import ResourceType

_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
Spec = Mapping[str, Any]
KindCheck = Callable[[Mapping[str, Any], Spec], list[Cause]]


def object_causes(rt: ResourceType, obj: Mapping[str, Any]) -> list[Cause]:
    """What makes a (defaulted) object invalid."""
    meta = obj.get("metadata") or {}
    causes = name_causes(rt, meta.get("name"))
    causes += label_causes(meta.get("labels"), "metadata.labels")
    causes += annotation_causes(meta.get("annotations"))
    raw_spec = obj.get("spec")
    spec: Spec = raw_spec if isinstance(raw_spec, Mapping) else {}
    check = KIND_CHECKS.get((rt.group, rt.kind))
    if check is not None:
        causes += check(obj, spec)
    return causes


def _workload(_: Mapping[str, Any], spec: Spec) -> list[Cause]:
    causes = _template_causes(spec)
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        causes.append(invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
    return causes


def _job(_: Mapping[str, Any], spec: Spec) -> list[Cause]:
    template = spec.get("template") or {}
    causes = pod_spec_causes(template.get("spec"), "spec.template.spec")
    policy = (template.get("spec") or {}).get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        causes.append(unsupported("spec.template.spec.restartPolicy", policy, ("OnFailure", "Never")))
    return causes


def _cronjob(_: Mapping[str, Any], spec: Spec) -> list[Cause]:
    return [] if spec.get("schedule") else [required("spec.schedule")]


def _pod(_: Mapping[str, Any], spec: Spec) -> list[Cause]:
    return pod_spec_causes(spec, "spec")


def _service(_: Mapping[str, Any], spec: Spec) -> list[Cause]:
    return _service_causes(spec)


def _config(obj: Mapping[str, Any], _: Spec) -> list[Cause]:
    causes: list[Cause] = []
    for field in ("data", "binaryData", "stringData"):
        for k in obj.get(field) or {}:
            if not _CONFIG_KEY.match(str(k)) or len(str(k)) > 253:
                causes.append(
                    invalid(
                        f"{field}[{k}]",
                        k,
                        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                    )
                )
    return causes


_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
# what a typed Secret must hold (ValidateSecret in pkg/apis/core/validation)
_SECRET_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}
_JSON_KEYS = {"kubernetes.io/dockerconfigjson": ".dockerconfigjson", "kubernetes.io/dockercfg": ".dockercfg"}


def _decoded(key: str, value: Any) -> bytes:
    """A ``data`` value as the API server decodes it: not base64 is a 400
    before any validation, as the JSON decoding of a Secret refuses it."""
    # Go's base64 decoder skips line breaks: wrapped base64 is valid
    text = (value if isinstance(value, str) else "").replace("\n", "").replace("\r", "")
    match = _BASE64.match(text)
    end = match.end() if match else 0
    if end < len(text) or len(text) % 4:
        at = end if end < len(text) else len(text) - len(text) % 4
        raise BadRequest(
            f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte {at}'
        )
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(
            f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data ({key})'
        ) from None


def _secret(obj: Mapping[str, Any], spec: Spec) -> list[Cause]:
    causes = _config(obj, spec)
    raw = obj.get("data") or {}
    data = {str(k): _decoded(str(k), v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
    strings = obj.get("stringData") or {}
    if isinstance(strings, Mapping):
        data.update({str(k): str(v).encode() for k, v in strings.items()})
    kind = str(obj.get("type") or "Opaque")
    causes += [required(f"data[{k}]") for k in _SECRET_KEYS.get(kind, ()) if k not in data]
    key = _JSON_KEYS.get(kind)
    if key is not None and key in data:
        try:
            json.loads(data[key])
        except ValueError as e:
            causes.append(invalid(f"data[{key}]", "<secret contents redacted>", str(e).split(":")[0]))
    return causes


def _pvc(_: Mapping[str, Any], spec: Spec) -> list[Cause]:
    causes: list[Cause] = []
    if not spec.get("accessModes"):
        causes.append(required("spec.accessModes"))
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        causes.append(required("spec.resources[storage]"))
    return causes


def _role_binding(obj: Mapping[str, Any], _: Spec) -> list[Cause]:
    causes: list[Cause] = []
    ref = obj.get("roleRef") or {}
    if not ref.get("name"):
        causes.append(required("roleRef.name"))
    if ref.get("kind") not in ("Role", "ClusterRole"):
        causes.append(unsupported("roleRef.kind", ref.get("kind", ""), ("Role", "ClusterRole")))
    return causes


def _ingress(_: Mapping[str, Any], spec: Spec) -> list[Cause]:
    causes: list[Cause] = []
    for i, rule in enumerate(spec.get("rules") or ()):
        for j, path in enumerate(((rule or {}).get("http") or {}).get("paths") or ()):
            if not path.get("pathType"):
                causes.append(
                    required(f"spec.rules[{i}].http.paths[{j}].pathType", "pathType must be specified")
                )
    return causes


def _lease(obj: Mapping[str, Any], spec: Spec) -> list[Cause]:
    """Its times must decode as MicroTime (else 400, as the decoder refuses
    them), its duration be positive and its transitions not negative."""
    for field in ("acquireTime", "renewTime"):
        value = spec.get(field)
        if value is None:
            continue
        try:
            check_micro_time(str(value))
        except MicroTimeError as e:
            version = str(obj.get("apiVersion", "")).rpartition("/")[2]
            raise BadRequest(f'Lease in version "{version}" cannot be handled as a Lease: {e}') from None
    causes: list[Cause] = []
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        causes.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if isinstance(transitions, int) and transitions < 0:
        causes.append(invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0"))
    return causes


def _crd(obj: Mapping[str, Any], _: Spec) -> list[Cause]:
    return _crd_causes(obj, obj.get("metadata") or {})


def pod_spec_causes(spec: Any, field: str) -> list[Cause]:
    if not isinstance(spec, Mapping):
        return [required(field)]
    causes: list[Cause] = []
    containers = spec.get("containers")
    if not containers:
        causes.append(required(f"{field}.containers"))
    seen: set[str] = set()
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or ()):
            path = f"{field}.{key}[{i}]"
            name = c.get("name") if isinstance(c, Mapping) else None
            if not name:
                causes.append(required(f"{path}.name"))
            elif not DNS1123_LABEL.match(str(name)) or len(str(name)) > 63:
                causes.append(
                    invalid(
                        f"{path}.name",
                        name,
                        "a lowercase RFC 1123 label must consist of lower "
                        "case alphanumeric characters or '-'",
                    )
                )
            elif name in seen:
                causes.append(Cause(f"{path}.name", "FieldValueDuplicate", f'Duplicate value: "{name}"'))
            else:
                seen.add(str(name))
            if isinstance(c, Mapping) and not c.get("image"):
                causes.append(required(f"{path}.image"))
            for j, port in enumerate((c or {}).get("ports") or ()):
                number = port.get("containerPort") if isinstance(port, Mapping) else None
                if not isinstance(number, int) or not 0 < number < 65536:
                    causes.append(
                        invalid(
                            f"{path}.ports[{j}].containerPort",
                            number,
                            "must be between 1 and 65535, inclusive",
                        )
                    )
    return causes


def _template_causes(spec: Mapping[str, Any], field: str = "spec") -> list[Cause]:
    causes: list[Cause] = []
    selector = spec.get("selector")
    template = spec.get("template") or {}
    if not selector:
        causes.append(required(f"{field}.selector"))
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(invalid(f"{field}.selector", selector, "empty selector is invalid for deployment"))
    labels = (template.get("metadata") or {}).get("labels")
    if selector and not selector_matches(selector, labels):
        causes.append(
            invalid(
                f"{field}.template.metadata.labels",
                labels or {},
                "`selector` does not match template `labels`",
            )
        )
    causes.extend(pod_spec_causes(template.get("spec"), f"{field}.template.spec"))
    return causes


def _service_causes(spec: Mapping[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    kind = spec.get("type", "ClusterIP")
    if kind not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        causes.append(
            unsupported("spec.type", kind, ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort"))
        )
    if kind == "ExternalName" and not spec.get("externalName"):
        causes.append(required("spec.externalName"))
    if kind != "ExternalName" and spec.get("clusterIP") != "None" and not spec.get("ports"):
        causes.append(required("spec.ports"))
    names: set[str] = set()
    ports = spec.get("ports") or ()
    for i, port in enumerate(ports):
        number = port.get("port") if isinstance(port, Mapping) else None
        if not isinstance(number, int) or not 0 < number < 65536:
            causes.append(invalid(f"spec.ports[{i}].port", number, "must be between 1 and 65535, inclusive"))
        name = (port or {}).get("name")
        if len(ports) > 1 and not name:
            causes.append(required(f"spec.ports[{i}].name"))
        if name in names:
            causes.append(Cause(f"spec.ports[{i}].name", "FieldValueDuplicate", f'Duplicate value: "{name}"'))
        names.add(str(name))
    return causes


def _crd_causes(obj: Mapping[str, Any], meta: Mapping[str, Any]) -> list[Cause]:
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    causes: list[Cause] = []
    for field in ("group",):
        if not spec.get(field):
            causes.append(required(f"spec.{field}"))
    if not names.get("plural"):
        causes.append(required("spec.names.plural"))
    if not names.get("kind"):
        causes.append(required("spec.names.kind"))
    expected = f"{names.get('plural')}.{spec.get('group')}"
    if meta.get("name") != expected:
        causes.append(invalid("metadata.name", meta.get("name"), 'must be spec.names.plural+"."+spec.group'))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(unsupported("spec.scope", spec.get("scope", ""), ("Cluster", "Namespaced")))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(required("spec.versions"))
    schemas = [
        (v.get("schema") or {}).get("openAPIV3Schema") if isinstance(v, Mapping) else None for v in versions
    ]
    if schemas and all(x == schemas[0] for x in schemas):
        # one schema for every version is kept (and named) as the CRD's spec.validation inside
        if schemas[0] is not None:
            causes += schema_causes(schemas[0], "spec.validation.openAPIV3Schema")
    else:
        for i, schema in enumerate(schemas):
            if schema is not None:
                causes += schema_causes(schema, f"spec.versions[{i}].schema.openAPIV3Schema")
    if versions and sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            invalid(
                "spec.versions",
                [v.get("name") for v in versions],
                "must have exactly one version marked as storage version",
            )
        )
    return causes


def _controller_revision(obj: Mapping[str, Any], _: Spec) -> list[Cause]:
    """``ValidateControllerRevision``: ``revision`` is not negative."""
    revision = obj.get("revision", 0)
    if isinstance(revision, int) and revision < 0:
        return [invalid("revision", revision, "must be greater than or equal to 0")]
    return []


KIND_CHECKS: dict[tuple[str, str], KindCheck] = {
    ("apps", "Deployment"): _workload,
    ("apps", "ReplicaSet"): _workload,
    ("apps", "StatefulSet"): _workload,
    ("apps", "DaemonSet"): _workload,
    ("apps", "ControllerRevision"): _controller_revision,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cronjob,
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("", "ConfigMap"): _config,
    ("", "Secret"): _secret,
    ("", "PersistentVolumeClaim"): _pvc,
    ("rbac.authorization.k8s.io", "RoleBinding"): _role_binding,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _role_binding,
    ("networking.k8s.io", "Ingress"): _ingress,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
    ("coordination.k8s.io", "Lease"): _lease,
}
