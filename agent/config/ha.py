"""``daemon.ha``: how replicas of ``gitops-agent run`` share the apps through Leases.

On by default: a single replica elects itself and owns every app, so one
process needs no setting and more replicas need none either.  The durations
are client-go's leader election's, shorter than Flux's (35 s lease) and
Fleet's (30 s) so a crashed replica's apps move within about 15 s.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from agent.config.base import ConfigModel


class HaSettings(ConfigModel):
    """Member and leader Leases in the state namespace (``cluster.stateNamespace``)."""

    enabled: bool = Field(default=True, description="take part in membership and leader election")
    lease_seconds: int = Field(
        default=10, ge=2, le=3600, description="how long a replica that stops renewing keeps its Leases"
    )
    renew_seconds: float = Field(default=2, gt=0, description="how often each replica renews its Leases")
    identity: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="this replica's name in the Leases; default: <hostname>-<pid>",
    )
    capacity: float = Field(default=1, gt=0, le=1000, description="its share of the apps, relative to others")
    advertise_address: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/]+(:[0-9]+)?/?$",
        description="the URL other replicas forward requests for this replica's apps to; "
        "default: http://<POD_IP, else daemon.address>:<daemon.port>",
    )

    @model_validator(mode="after")
    def _renewals_fit(self) -> HaSettings:
        if self.renew_seconds * 3 >= self.lease_seconds:
            raise ValueError(
                f"renewSeconds ({self.renew_seconds:g}) must be under a third of leaseSeconds "
                f"({self.lease_seconds}): a renewal may fail once and the next still come in time"
            )
        return self
