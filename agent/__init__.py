"""gitops-agent: keeps Kubernetes clusters equal to Git.

The pipeline of one reconcile is ``source -> render -> diff/plan -> apply ->
record -> report`` (see ``agent.sync.pipeline``).  ``agent.cluster`` is the only
package that talks to a cluster and ``agent.source`` the only one that talks
to git; ``render``, ``diff``, ``health`` and the planner are pure.
"""

__version__ = "0.1.0"
