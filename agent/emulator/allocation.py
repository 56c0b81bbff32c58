"""Addresses the cluster hands out: Service cluster IPs, node ports, load-balancer IPs.

The API server's allocators (``pkg/registry/core/service/ipallocator`` and
``portallocator``) reduced to counters kept in the store's ``meta`` table, so a
restarted cluster goes on where it stopped.  Defaulting asks for a cluster IP
and node ports; the Service and Ingress controllers for a load-balancer IP.
"""

from __future__ import annotations

import copy
import ipaddress

from agent.emulator.objects import JSON
from agent.emulator.storage.store import Store
from agent.kube.kinds import ResourceType


class Allocator:
    def __init__(self, store: Store, service_cidr: str) -> None:
        self._store = store
        self._cidr = service_cidr

    def _counter(self, key: str) -> int:
        value = int(self._store.get_meta(key) or "0")
        self._store.set_meta(key, str(value + 1))
        return value

    def cluster_ip(self) -> str:
        network = ipaddress.ip_network(self._cidr)
        offset = 10 + self._counter("next-cluster-ip") % (network.num_addresses - 12)
        return str(network.network_address + offset)

    def node_port(self) -> int:
        return 30000 + self._counter("next-node-port") % 2768

    def load_balancer_ip(self) -> str:
        return f"172.18.255.{self._counter('next-lb-ip') % 250 + 1}"

    def carry(self, rt: ResourceType, live: JSON, body: JSON) -> None:
        carry_allocations(rt, live, body)


def carry_allocations(rt: ResourceType, live: JSON, body: JSON) -> None:
    """A Service update without its allocated IP and node ports keeps them (as the registry does)."""
    if (rt.group, rt.kind) != ("", "Service"):
        return
    old, new = live.get("spec") or {}, body.get("spec")
    if not isinstance(new, dict) or new.get("type", "ClusterIP") == "ExternalName":
        return
    for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        if key in old and not new.get(key):
            new[key] = copy.deepcopy(old[key])
    ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in old.get("ports") or ()}
    for port in new.get("ports") or ():
        if isinstance(port, dict) and not port.get("nodePort"):
            allocated = ports.get((port.get("port"), port.get("protocol", "TCP")))
            if allocated and new.get("type") in ("NodePort", "LoadBalancer"):
                port["nodePort"] = allocated
