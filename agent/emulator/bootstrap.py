"""What a new cluster holds before anyone writes to it, as a real control plane leaves it.

The namespaces every cluster starts with (kubectl's context defaults to
``default``), two Nodes (the emulated cluster runs no kubelet: they report
Ready, with a capacity, and pods are placed on them by the simulated
scheduler), the ``default/kubernetes`` Service at the first address of the
service range with the Endpoints and EndpointSlice the API server keeps for
it (its own address, port 6443: pkg/controlplane/reconcilers/endpointsadapter.go,
which labels the slice with the service name only, and the Endpoints with
``endpointslice.kubernetes.io/skip-mirror``), kind's default StorageClass
``standard`` (``rancher.io/local-path``, WaitForFirstConsumer), and the default
ClusterRoles the API server's RBAC bootstrap policy makes
(:mod:`agent.emulator.rbac.policy`: ``cluster-admin``, the aggregated ``admin``,
``edit`` and ``view``, what every authenticated user may do) with their
bindings.  Each is made once: a cluster
database opened again keeps what it has.
"""

from __future__ import annotations

import ipaddress

from agent.emulator.objects import JSON, clone
from agent.emulator.ports import Cluster
from agent.emulator.rbac import policy
from agent.kube.kinds import KUBERNETES_VERSION

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
NODES = ("emulated-node-1", "emulated-node-2")
# The address the control plane advertises (a kind cluster's control-plane node); the
# emulated Nodes are 10.0.0.10 and up.
APISERVER_ADDRESS = "10.0.0.2"
APISERVER_PORT = 6443


def objects(service_cidr: str) -> list[JSON]:
    """The objects, in the order they are made."""
    out: list[JSON] = [_namespace(n) for n in SYSTEM_NAMESPACES]
    out += [_node(name, i) for i, name in enumerate(NODES)]
    first = str(next(ipaddress.ip_network(service_cidr, strict=False).hosts()))
    out.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "clusterIP": first,
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
            },
        }
    )
    out += _apiserver_endpoints()
    out.append(clone(STANDARD_CLASS))
    out += policy.objects()
    return out


# kind's default StorageClass: its local-path provisioner makes a hostPath volume on the node
# of a claim's first Pod (agent/emulator/controllers/volumes.py simulates it).
STANDARD_CLASS: JSON = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
    "provisioner": "rancher.io/local-path",
    "reclaimPolicy": "Delete",
    "volumeBindingMode": "WaitForFirstConsumer",
}


def _apiserver_endpoints() -> list[JSON]:
    """The ``default/kubernetes`` Endpoints and EndpointSlice, as the API server's endpoint
    reconciler writes them: one ready address, the port named ``https``."""
    meta = {"name": "kubernetes", "namespace": "default"}
    return [
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {**meta, "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [
                {
                    "addresses": [{"ip": APISERVER_ADDRESS}],
                    "ports": [{"name": "https", "port": APISERVER_PORT, "protocol": "TCP"}],
                }
            ],
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {**meta, "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [APISERVER_ADDRESS], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": APISERVER_PORT, "protocol": "TCP"}],
        },
    ]


def _namespace(name: str) -> JSON:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _node(name: str, index: int) -> JSON:
    capacity = {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "emulated",
            },
        },
        "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]},
        "status": {
            "capacity": capacity,
            "allocatable": capacity,
            "addresses": [
                {"type": "InternalIP", "address": f"10.0.0.{index + 10}"},
                {"type": "Hostname", "address": name},
            ],
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "the emulated node is ready (no kubelet runs: pods are simulated)",
                }
            ],
            "nodeInfo": {
                "kubeletVersion": KUBERNETES_VERSION,
                "kubeProxyVersion": KUBERNETES_VERSION,
                "containerRuntimeVersion": "emulated://1.0",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "osImage": "gitops-agent emulated node",
                "kernelVersion": "",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
            },
        },
    }


def bootstrap(cluster: Cluster) -> None:
    """Make each object the cluster does not hold yet; a Node's status as its kubelet reports it."""
    for obj in objects(cluster.options.service_cidr):
        rt = cluster.resource_type(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        ns = meta.get("namespace", "") if rt.namespaced else ""
        if cluster.store.get(rt.group, rt.plural, ns, meta["name"]) is not None:
            continue
        status = obj.pop("status", None)
        cluster.system_create(rt, obj, ns, manager="kube-apiserver")
        if status is not None:

            def reported(o: JSON, status: JSON = status) -> JSON:
                return {**o, "status": status}

            cluster.system_write(rt, ns, meta["name"], reported, manager="kubelet", subresource="status")
