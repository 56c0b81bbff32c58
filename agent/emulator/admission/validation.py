"""Validation of built-in kinds: 422 Invalid with a Status naming each field.

The checks and their messages follow the API server's validation
(``pkg/apis/core/validation``, ``pkg/apis/apps/validation``,
``pkg/apis/batch/validation``, Kubernetes 1.33): required fields, DNS-1123
names, label syntax, selectors that must match their template, and the
fields that may not change once set (Service clusterIP, Deployment selector,
Job template, StatefulSet fields other than the few it lets you update, RBAC
roleRef, immutable ConfigMaps and Secrets).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.kube.errors import Invalid
from agent.kube.kinds import ResourceType

JSON = dict[str, Any]

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_LABEL_NAMED = {("", "Namespace"), ("", "Service")}
_PATH_SEGMENT_NAMED = {"rbac.authorization.k8s.io"}
_STS_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)


@dataclass(frozen=True)
class Cause:
    field: str
    reason: str  # FieldValueRequired, FieldValueInvalid, FieldValueForbidden, ...
    message: str

    def text(self) -> str:
        return f"{self.field}: {self.message}"


def _go(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def required(field: str, detail: str = "") -> Cause:
    return Cause(field, "FieldValueRequired", "Required value" + (f": {detail}" if detail else ""))


def invalid(field: str, value: Any, detail: str) -> Cause:
    shown = f'"{value}"' if isinstance(value, str) else _go(value)
    return Cause(field, "FieldValueInvalid", f"Invalid value: {shown}: {detail}")


def forbidden(field: str, detail: str) -> Cause:
    return Cause(field, "FieldValueForbidden", f"Forbidden: {detail}")


def unsupported(field: str, value: Any, supported: tuple[str, ...]) -> Cause:
    options = ", ".join(f'"{s}"' for s in supported)
    return Cause(
        field, "FieldValueNotSupported", f'Unsupported value: "{value}": supported values: {options}'
    )


def raise_invalid(rt: ResourceType, name: str, causes: list[Cause]) -> None:
    if not causes:
        return
    qualified = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    body = causes[0].text() if len(causes) == 1 else "[" + ", ".join(c.text() for c in causes) + "]"
    raise Invalid(
        f'{qualified} "{name}" is invalid: {body}',
        details={
            "name": name,
            "group": rt.group,
            "kind": rt.kind,
            "causes": [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes],
        },
    )


def name_causes(rt: ResourceType, name: Any, field: str = "metadata.name") -> list[Cause]:
    if not isinstance(name, str) or not name:
        return [required(field, "name or generateName is required")]
    if rt.group in _PATH_SEGMENT_NAMED:
        if name in (".", "..") or "/" in name or "%" in name:
            return [invalid(field, name, "may not contain '/' or '%' and may not be '.' or '..'")]
        return []
    if (rt.group, rt.kind) in _LABEL_NAMED:
        if len(name) > 63 or not DNS1123_LABEL.match(name):
            return [
                invalid(
                    field,
                    name,
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
                    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                )
            ]
        return []
    if len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        return [
            invalid(
                field,
                name,
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            )
        ]
    return []


def _label_causes(labels: Any, field: str) -> list[Cause]:
    causes: list[Cause] = []
    if not isinstance(labels, Mapping):
        return causes
    for key, value in labels.items():
        prefix, _, name = str(key).rpartition("/")
        if (
            not name
            or len(name) > 63
            or not _QUALIFIED_NAME.match(name)
            or (prefix and not DNS1123_SUBDOMAIN.match(prefix))
        ):
            causes.append(
                invalid(f"{field}", key, "name part must consist of alphanumeric characters, '-', '_' or '.'")
            )
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                invalid(
                    f"{field}",
                    value,
                    "a valid label must be an empty string or consist of "
                    "alphanumeric characters, '-', '_' or '.'",
                )
            )
    return causes


def _selector_matches(selector: Any, labels: Any) -> bool:
    if not isinstance(selector, Mapping):
        return False
    labels = labels if isinstance(labels, Mapping) else {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or ():
        op, key, values = expr.get("operator"), expr.get("key"), expr.get("values") or []
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and labels.get(key) in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def _pod_spec_causes(spec: Any, field: str) -> list[Cause]:
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
    if selector and not _selector_matches(selector, labels):
        causes.append(
            invalid(
                f"{field}.template.metadata.labels",
                labels or {},
                "`selector` does not match template `labels`",
            )
        )
    causes.extend(_pod_spec_causes(template.get("spec"), f"{field}.template.spec"))
    return causes


def object_causes(rt: ResourceType, obj: Mapping[str, Any]) -> list[Cause]:
    """What makes a (defaulted) object invalid."""
    meta = obj.get("metadata") or {}
    causes = name_causes(rt, meta.get("name"))
    causes += _label_causes(meta.get("labels"), "metadata.labels")
    raw_spec = obj.get("spec")
    spec: Mapping[str, Any] = raw_spec if isinstance(raw_spec, Mapping) else {}
    key = (rt.group, rt.kind)
    if key in (
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
    ):
        causes += _template_causes(spec)
        replicas = spec.get("replicas")
        if isinstance(replicas, int) and replicas < 0:
            causes.append(invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
    elif key == ("batch", "Job"):
        template = spec.get("template") or {}
        causes += _pod_spec_causes(template.get("spec"), "spec.template.spec")
        policy = (template.get("spec") or {}).get("restartPolicy")
        if policy not in ("OnFailure", "Never"):
            causes.append(unsupported("spec.template.spec.restartPolicy", policy, ("OnFailure", "Never")))
    elif key == ("batch", "CronJob"):
        if not spec.get("schedule"):
            causes.append(required("spec.schedule"))
    elif key == ("", "Pod"):
        causes += _pod_spec_causes(spec, "spec")
    elif key == ("", "Service"):
        causes += _service_causes(spec)
    elif key in (("", "ConfigMap"), ("", "Secret")):
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
    elif key == ("", "PersistentVolumeClaim"):
        if not spec.get("accessModes"):
            causes.append(required("spec.accessModes"))
        if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
            causes.append(required("spec.resources[storage]"))
    elif key in (
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ):
        ref = obj.get("roleRef") or {}
        if not ref.get("name"):
            causes.append(required("roleRef.name"))
        if ref.get("kind") not in ("Role", "ClusterRole"):
            causes.append(unsupported("roleRef.kind", ref.get("kind", ""), ("Role", "ClusterRole")))
    elif key == ("networking.k8s.io", "Ingress"):
        for i, rule in enumerate(spec.get("rules") or ()):
            for j, path in enumerate(((rule or {}).get("http") or {}).get("paths") or ()):
                if not path.get("pathType"):
                    causes.append(
                        required(f"spec.rules[{i}].http.paths[{j}].pathType", "pathType must be specified")
                    )
    elif key == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        causes += _crd_causes(obj, meta)
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
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            invalid(
                "spec.versions",
                [v.get("name") for v in versions],
                "must have exactly one version marked as storage version",
            )
        )
    return causes


def update_causes(rt: ResourceType, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Cause]:
    """Changes the API server refuses on update."""
    key = (rt.group, rt.kind)
    o_spec, n_spec = old.get("spec") or {}, new.get("spec") or {}
    causes: list[Cause] = []

    def immutable(field: str, a: Any, b: Any, detail: str = "field is immutable") -> None:
        if a != b:
            causes.append(invalid(field, b, detail))

    if key in (
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "DaemonSet"),
        ("apps", "StatefulSet"),
    ):
        immutable("spec.selector", o_spec.get("selector"), n_spec.get("selector"))
    if key == ("apps", "StatefulSet"):
        rest_o = {k: v for k, v in o_spec.items() if k not in _STS_MUTABLE}
        rest_n = {k: v for k, v in n_spec.items() if k not in _STS_MUTABLE}
        if rest_o != rest_n and not causes:
            causes.append(
                forbidden(
                    "spec",
                    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
                    "are forbidden",
                )
            )
    elif key == ("batch", "Job"):
        immutable("spec.selector", o_spec.get("selector"), n_spec.get("selector"))
        immutable("spec.template", o_spec.get("template"), n_spec.get("template"))
        immutable("spec.completionMode", o_spec.get("completionMode"), n_spec.get("completionMode"))
    elif key == ("", "Service"):
        if o_spec.get("clusterIP") and n_spec.get("type") != "ExternalName":
            immutable(
                "spec.clusterIPs[0]",
                o_spec.get("clusterIPs"),
                n_spec.get("clusterIPs"),
                "may not change once set",
            )
            immutable("spec.clusterIP", o_spec.get("clusterIP"), n_spec.get("clusterIP"))
    elif key in (("", "ConfigMap"), ("", "Secret")):
        if old.get("immutable") is True:
            if new.get("immutable") is not True:
                causes.append(forbidden("immutable", "field is immutable when `immutable` is set"))
            for field in ("data", "binaryData"):
                if old.get(field) != new.get(field):
                    causes.append(forbidden(field, "field is immutable when `immutable` is set"))
        if key == ("", "Secret"):
            immutable("type", old.get("type"), new.get("type"))
    elif key == ("", "PersistentVolumeClaim"):
        rest_o = {k: v for k, v in o_spec.items() if k not in ("resources", "volumeAttributesClassName")}
        rest_n = {k: v for k, v in n_spec.items() if k not in ("resources", "volumeAttributesClassName")}
        if rest_o != rest_n:
            causes.append(
                forbidden(
                    "spec",
                    "spec is immutable after creation except resources.requests and "
                    "volumeAttributesClassName for bound claims",
                )
            )
    elif key in (
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ):
        immutable("roleRef", old.get("roleRef"), new.get("roleRef"), "cannot change roleRef")
    elif key == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        immutable("spec.scope", o_spec.get("scope"), n_spec.get("scope"))
        immutable("spec.group", o_spec.get("group"), n_spec.get("group"))
    elif key == ("", "Pod"):
        changed = {k for k in set(o_spec) | set(n_spec) if o_spec.get(k) != n_spec.get(k)}
        images_only = changed <= {"containers", "initContainers", "activeDeadlineSeconds", "tolerations"}
        if changed and not images_only:
            causes.append(
                forbidden(
                    "spec",
                    "pod updates may not change fields other than `spec.containers[*].image`, "
                    "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, "
                    "`spec.tolerations` (only additions to existing tolerations)",
                )
            )
    return causes
