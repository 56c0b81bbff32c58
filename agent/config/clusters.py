"""The clusters of ``agent.yaml``: ``cluster:`` (the one named ``default``)
and ``clusters:``, each an emulated cluster's database, a kubeconfig's
context, or the cluster the agent runs in."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from agent.config.base import DNS1123_LABEL, ConfigModel


class EmulatedClusterSettings(ConfigModel):
    path: str = ".gitops-agent/cluster.db"
    # Rehearsals should not take real minutes: deadlines such as a Deployment's
    # progressDeadlineSeconds are scaled by this factor (600 s -> 6 s).
    time_factor: float = Field(default=0.01, gt=0)
    rollout_seconds: float = Field(default=0.0, ge=0)  # until simulated rollouts report done


class Kubeconfig(ConfigModel):
    path: str | None = None  # default: $KUBECONFIG or ~/.kube/config
    context: str | None = None  # default: the kubeconfig's current context
    cluster: str | None = None  # a cluster of the kubeconfig instead of the context's (kubectl --cluster)


DEFAULT_CLUSTER = "default"


class ClusterConfig(ConfigModel):
    """Exactly one of ``emulated``, ``kubeconfig`` or ``inCluster``.  The
    file's ``cluster:`` is the cluster named ``default``; each entry of
    ``clusters:`` names another (apps choose one by ``destination.cluster``).
    ``labels`` are what the clusters generator and sync windows select on."""

    name: str = DEFAULT_CLUSTER
    labels: dict[str, str] = Field(default_factory=dict)
    emulated: EmulatedClusterSettings | None = None
    kubeconfig: Kubeconfig | None = None
    in_cluster: bool = False
    state_namespace: str = Field(default="gitops-agent", description="where revision records are kept")

    @model_validator(mode="after")
    def _one_backend(self) -> ClusterConfig:
        chosen = [
            n
            for n, v in (
                ("emulated", self.emulated),
                ("kubeconfig", self.kubeconfig),
                ("inCluster", self.in_cluster),
            )
            if v
        ]
        if len(chosen) > 1:
            raise ValueError(f"choose one of emulated, kubeconfig, inCluster (got {', '.join(chosen)})")
        if len(self.name) > 63 or not DNS1123_LABEL.match(self.name):
            raise ValueError(f"{self.name!r} is not a valid cluster name (lower-case letters, digits, '-')")
        return self

    @property
    def kind(self) -> Literal["emulated", "kubeconfig", "inCluster"]:
        if self.kubeconfig is not None:
            return "kubeconfig"
        if self.in_cluster:
            return "inCluster"
        return "emulated"
