"""Admission: what a write goes through before it is stored, as an ordered chain.

The API server's write path (``staging/src/k8s.io/apiserver/pkg/registry/rest``
and ``generic/registry/store.go``) reduced to the steps an emulated cluster
needs, each a small function over one :class:`Admission`:

1. :func:`~.steps.client_metadata`: managedFields, selfLink and resourceVersion
   taken off the request (the sent managedFields are kept aside);
2. :func:`~.steps.server_metadata`: uid, creationTimestamp, generation and
   deletion marks kept from the live object (or made for a new one); status
   written only through the status subresource;
3. :func:`~.steps.serialize`: the object as it is stored (:mod:`.serialize`);
4. :func:`~.steps.default`: built-in defaults and kept allocations (:mod:`.defaulting`);
5. :func:`~.steps.validate`: 422 naming the field (:mod:`.validation`);
6. :func:`~.steps.generation`: moved by a change outside metadata and status;
7. :func:`~.steps.managed_fields`: the writer's fields recorded.

``fieldValidation`` (Strict/Warn, :mod:`.fieldcheck`) runs earlier, where the
REST layer decodes the body, as in the API server.
"""

from __future__ import annotations

from agent.emulator.admission.steps import CHAIN, Admission
from agent.emulator.objects import JSON

__all__ = ["CHAIN", "Admission", "admit"]


def admit(request: Admission) -> JSON:
    """Run the chain in order; ``request.body`` is then the object to store."""
    for step in CHAIN:
        step(request)
    return request.body
