"""Kubernetes facts, as pure data shared by the agent's client side and the
emulated cluster: the built-in kinds (:mod:`agent.kube.kinds`), the OpenAPI
schemas walked as nodes (:mod:`agent.kube.nodes`), list-map shapes and
normalization (:mod:`agent.kube.shapes`), resource quantities
(:mod:`agent.kube.quantity`) and the API server's Status errors
(:mod:`agent.kube.errors`).  Nothing here does I/O.
"""
