"""Simulated controllers: status moves as a healthy (or faulty) cluster's would.

* Deployments, StatefulSets, DaemonSets and ReplicaSets report their rollout
  ``rollout_seconds`` after a change of their spec (:mod:`.deployments`,
  :mod:`.workloads`); an image that fault injection makes unpullable or
  crash-looping keeps the new replicas unready, and a Deployment then reports
  ``ProgressDeadlineExceeded``.
* Jobs complete or fail (:mod:`.jobs`), PersistentVolumeClaims bind and load
  balancers get an address (:mod:`.services`), autoscalers report their
  target's replicas (:mod:`.hpa`), CRDs become Established (:mod:`.crds`).

One module per controller family, each a pure reconciler over
:class:`.status.Context`; one loop (:mod:`.loop`) schedules, runs, logs and
retries them.  The timing is derived from the stored status (when the
current rollout began), so a restarted emulator carries on where it stopped.
"""

from agent.emulator.controllers.loop import Controllers

__all__ = ["Controllers"]
