"""The Kubernetes OpenAPI schemas, as pure data the stages share.

:mod:`agent.schema.nodes` walks an object along its kind's schema (shapes,
list types and keys, quantities); :mod:`agent.schema.quantity` writes
resource quantities the way the API server does.
"""
