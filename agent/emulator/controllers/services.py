"""Controllers of the network kinds: load balancers get an address.

(Claims bind in :mod:`agent.emulator.controllers.volumes`.)  A Service of
type LoadBalancer and an Ingress get an ingress IP from the cluster's
allocator, as a cloud's load-balancer and ingress controllers would publish.
"""

from __future__ import annotations

from agent.emulator.controllers.status import Context, Desired
from agent.emulator.objects import JSON


def service(ctx: Context, obj: JSON, _: float) -> Desired:
    status = dict(obj.get("status") or {"loadBalancer": {}})
    if (obj.get("spec") or {}).get("type") == "LoadBalancer":
        if not (status.get("loadBalancer") or {}).get("ingress"):
            ip = ctx.cluster.allocator.load_balancer_ip()
            status["loadBalancer"] = {"ingress": [{"ip": ip, "ipMode": "VIP"}]}
    else:
        status["loadBalancer"] = {}
    return status, None


def ingress(ctx: Context, obj: JSON, _: float) -> Desired:
    """An ingress controller publishes an address."""
    status = dict(obj.get("status") or {})
    if not (status.get("loadBalancer") or {}).get("ingress"):
        status["loadBalancer"] = {"ingress": [{"ip": ctx.cluster.allocator.load_balancer_ip()}]}
    return status, None
