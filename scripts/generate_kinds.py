"""Writes ``agent/kube/builtin_kinds.py``: the built-in kinds the agent knows
without asking a cluster, for one Kubernetes release
(:data:`agent.kube.kinds.KUBERNETES_VERSION`).

Run it after bumping ``kubernetes-validate``, ``lightkube-models`` or the
release::

    python scripts/generate_kinds.py          # rewrite the table
    python scripts/generate_kinds.py --check  # exit 1 when it is stale

The table is generated, not typed in, from two packaged copies of the
Kubernetes API description, and checked in, so the agent reads neither at run
time (tests/unit/kube/test_kinds_table.py regenerates it in memory and compares):

* **kinds and versions** from the OpenAPI schemas shipped by
  ``kubernetes-validate`` (``x-kubernetes-group-version-kind`` of each
  definition).  A kind served in several versions (autoscaling v1 and v2) is
  served in its preferred one: GA before beta before alpha, the highest
  number first, as the API server orders discovery.
* **scope, plural, verbs and subresources** are not part of those schemas
  (they live in the API server's *paths*).  ``lightkube-models`` is generated
  from the same release's full OpenAPI document including the paths, and
  states them as literal data (``plural=``, ``verbs=``, a Namespaced or Global
  base class, ``action='status'`` subresources).  Its modules are read as
  syntax trees: they import lightkube's client core, which is not installed.

Short names and categories exist only in live discovery (no schema carries
them); :data:`SHORT_NAMES` records those of ``kubectl api-resources``.  The
same approach as lightkube's own model generator, which writes Python from
the OpenAPI document once per release instead of reading it at run time.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.kube.kinds import KUBERNETES_VERSION, ResourceType, definitions, version_priority

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "agent" / "kube" / "builtin_kinds.py"
COMMAND = "python scripts/generate_kinds.py"

# The kinds an application uses, which the emulated cluster serves.
APPLICATION_KINDS: tuple[tuple[str, str], ...] = (
    ("", "Namespace"),
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("", "Pod"),
    ("", "PersistentVolumeClaim"),
    ("", "PersistentVolume"),
    ("", "Event"),
    ("", "Endpoints"),
    ("", "LimitRange"),
    ("", "ResourceQuota"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("apps", "ControllerRevision"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("networking.k8s.io", "IngressClass"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"),
    ("coordination.k8s.io", "Lease"),
    ("storage.k8s.io", "StorageClass"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    # what a cluster has beside an application's kinds: `kubectl get all`, `apply --prune`,
    # `auth can-i` and `auth whoami` ask for them
    ("", "Node"),
    ("", "ReplicationController"),
    ("", "PodTemplate"),
    ("events.k8s.io", "Event"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("apiregistration.k8s.io", "APIService"),
    ("node.k8s.io", "RuntimeClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("authentication.k8s.io", "SelfSubjectReview"),
    ("authentication.k8s.io", "TokenReview"),
)

SHORT_NAMES: dict[str, tuple[str, ...]] = {
    "Namespace": ("ns",),
    "ConfigMap": ("cm",),
    "Service": ("svc",),
    "ServiceAccount": ("sa",),
    "Pod": ("po",),
    "PersistentVolumeClaim": ("pvc",),
    "PersistentVolume": ("pv",),
    "Event": ("ev",),
    "Endpoints": ("ep",),
    "LimitRange": ("limits",),
    "ResourceQuota": ("quota",),
    "Deployment": ("deploy",),
    "StatefulSet": ("sts",),
    "DaemonSet": ("ds",),
    "ReplicaSet": ("rs",),
    "CronJob": ("cj",),
    "Ingress": ("ing",),
    "NetworkPolicy": ("netpol",),
    "HorizontalPodAutoscaler": ("hpa",),
    "PodDisruptionBudget": ("pdb",),
    "StorageClass": ("sc",),
    "PriorityClass": ("pc",),
    "CustomResourceDefinition": ("crd", "crds"),
    "Node": ("no",),
    "ReplicationController": ("rc",),
    "CertificateSigningRequest": ("csr",),
    "APIService": (),
}
CATEGORY_ALL = {
    "Pod",
    "ReplicationController",
    "Service",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
}


@dataclass(frozen=True)
class _Paths:
    plural: str
    namespaced: bool
    verbs: tuple[str, ...]
    subresources: tuple[str, ...]


# lightkube's verb names -> the API server's discovery verbs
_VERB_NAMES = {"post": "create", "put": "update", "global_list": "", "global_watch": ""}


def _lightkube_resources() -> Path:
    spec = importlib.util.find_spec("lightkube")  # found, not imported: its client core is not installed
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("lightkube-models is not installed: pip install -e '.[test]'")
    return Path(next(iter(spec.submodule_search_locations))) / "resources"


def api_paths() -> dict[tuple[str, str, str], _Paths]:
    """Scope, plural, verbs and subresources by (group, version, kind), read
    from lightkube-models' generated modules as syntax trees."""
    out: dict[tuple[str, str, str], _Paths] = {}
    subs: dict[tuple[str, str, str], list[str]] = {}
    for module in sorted(_lightkube_resources().glob("*.py")):
        for node in ast.parse(module.read_text()).body:
            if not isinstance(node, ast.ClassDef) or (info := _api_info(node)) is None:
                continue
            resource = info.get("parent") or info["resource"]
            key = (str(resource[0]), str(resource[1]), str(resource[2]))
            if info.get("action"):
                subs.setdefault(key, []).append(str(info["action"]))
                continue
            namespaced = any("Namespaced" in ast.unparse(b) for b in node.bases)
            verbs = sorted({_VERB_NAMES.get(v, v) for v in info.get("verbs", ())} - {""})
            out[key] = _Paths(str(info["plural"]), namespaced, tuple(verbs), ())
    return {k: dataclasses.replace(p, subresources=tuple(sorted(subs.get(k, ())))) for k, p in out.items()}


def _api_info(node: ast.ClassDef) -> dict[str, Any] | None:
    """The keyword arguments of a class's ``_api_info = res.ApiInfo(...)``."""
    for stmt in node.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_api_info" for t in stmt.targets
        ):
            call = stmt.value
            if not isinstance(call, ast.Call):
                return None
            info: dict[str, Any] = {}
            for kw in call.keywords:
                value = kw.value
                if isinstance(value, ast.Call):  # res.ResourceDef('apps', 'v1', 'Deployment')
                    info[str(kw.arg)] = tuple(ast.literal_eval(a) for a in value.args)
                else:
                    info[str(kw.arg)] = ast.literal_eval(value)
            return info if "resource" in info else None
    return None


def build() -> tuple[ResourceType, ...]:
    """The built-in resource types, read from the packaged API descriptions."""
    paths = api_paths()
    gvks = {
        (gvk["group"], gvk["version"], gvk["kind"])
        for body in definitions().values()
        for gvk in body.get("x-kubernetes-group-version-kind") or ()
    }
    types: list[ResourceType] = []
    for group, kind in APPLICATION_KINDS:
        versions = sorted(
            (v for (g, v, k) in gvks if g == group and k == kind and (g, v, k) in paths), key=version_priority
        )
        if not versions:
            raise SystemExit(f"{group}/{kind} is not in the Kubernetes {KUBERNETES_VERSION} API description")
        p = paths[(group, versions[0], kind)]
        types.append(
            ResourceType(
                group,
                versions[0],
                kind,
                p.plural,
                p.namespaced,
                SHORT_NAMES.get(kind, ()),
                p.verbs,
                p.subresources,
                ("all",) if kind in CATEGORY_ALL else (),
                tuple(versions),
            )
        )
    return tuple(types)


def scopes() -> dict[str, bool]:
    """Whether each built-in kind of the release is namespaced, by
    ``group/Kind`` (``/Kind`` for the core group): every kind the API
    server serves, not only those of :data:`APPLICATION_KINDS`, so a
    render never gives a cluster-scoped object (an APIService, a
    StorageClass, a webhook configuration) a namespace."""
    out: dict[str, bool] = {}
    for (group, _, kind), p in sorted(api_paths().items()):
        out[f"{group}/{kind}"] = p.namespaced
    return out


def _literal(value: object) -> str:
    if isinstance(value, tuple):
        items = ", ".join(_literal(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    return repr(value) if not isinstance(value, str) else '"' + value + '"'


def render(types: tuple[ResourceType, ...], scope: dict[str, bool] | None = None) -> str:
    """The text of the table module (formatted as ``ruff format`` leaves it)."""
    scope = scopes() if scope is None else scope
    lines = [
        f'"""The built-in kinds of Kubernetes {KUBERNETES_VERSION}: generated by',
        f"``{COMMAND}`` from kubernetes-validate's schemas and",
        "lightkube-models' API paths.  Do not edit; rerun the script.",
        "",
        "# long: a generated table, one entry per kind",
        '"""',
        "",
        "from typing import Any",
        "",
        f'KUBERNETES_VERSION = "{KUBERNETES_VERSION}"',
        "",
        "# One agent.kube.kinds.ResourceType's fields each; those at their defaults are left out.",
        "TYPES: tuple[dict[str, Any], ...] = (",
    ]
    defaults = {f.name: f.default for f in dataclasses.fields(ResourceType)}
    for t in types:
        lines.append("    {")
        lines += [
            f'        "{k}": {_literal(v)},' for k, v in dataclasses.asdict(t).items() if v != defaults[k]
        ]
        lines.append("    },")
    lines += [
        ")",
        "",
        "# The scope of every built-in kind of the release, by group/Kind (/Kind for the core group).",
        "CLUSTER_SCOPED: frozenset[str] = frozenset(",
        "    {",
        *(f'        "{k}",' for k, namespaced in scope.items() if not namespaced),
        "    }",
        ")",
        "NAMESPACED: frozenset[str] = frozenset(",
        "    {",
        *(f'        "{k}",' for k, namespaced in scope.items() if namespaced),
        "    }",
        ")",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 when the checked-in table is stale")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        fresh = TABLE.is_file() and TABLE.read_text() == text
        print(f"{TABLE.relative_to(ROOT)} is {'up to date' if fresh else 'stale: run ' + COMMAND}")
        return 0 if fresh else 1
    TABLE.write_text(text)
    print(f"wrote {TABLE.relative_to(ROOT)}: {len(text.splitlines())} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
