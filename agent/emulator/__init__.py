"""The emulated cluster: an embedded Kubernetes API server over SQLite.

A product of its own beside the agent, reached only through these names
(an import-linter contract keeps its submodules private):

* :class:`EmulatedCluster` and its :class:`Options`: the cluster in process,
  a ``ClusterClient`` for the agent and the tests;
* :class:`FaultConfig` and :func:`parse_faults`: the fault rules;
* :class:`EmulatorServer`: the Kubernetes REST API over HTTP(S) for kubectl
  and the official clients, with :func:`write_kubeconfig` and
  :func:`saved_kubeconfig` for the kubeconfig that reaches it;
* :func:`command_group`: the ``emulator ...`` commands, which the agent's CLI
  mounts (it passes how its configuration names the database).

Inside, as a real API server is cut:

* ``registry`` (the verbs over storage and admission, by resource type) is
  what both front doors use; ``cluster`` (the in-process ``ClusterClient``,
  by apiVersion and kind) and ``rest/`` (routing, one handler per verb,
  watch streaming, discovery, OpenAPI, tables, TLS, serving) are thin over it.
  Two cuts beyond the plan keep the registry small: ``writes`` (the store
  transaction, admission and the announcement after a write, whichever verb
  asked) and ``catalog`` (the served resource types, CRDs included); server-side
  apply's lock-free preparation is ``applying``, the address allocators ``allocation``.
* ``admission/`` is an ordered chain of small steps (client metadata, server
  metadata, serialize, default, validate, generation, managed fields).
* ``fields/`` (patching, field sets, managed fields) is pure and unit-tested.
* ``storage/`` is SQLite, list pages and selectors.  The in-process ``watch``
  sits beside the registry, not in storage: it runs the controllers while it
  waits, so it needs ``ports``, and storage stays below that.
* ``lifecycle`` (deletion, finalizers, garbage collection) and ``controllers/``
  (one loop that logs and retries, one module per controller family) act on
  the registry through the small ``ports`` protocol: no import circle.
* ``faults`` is one gate every request passes; ``options`` the knobs.
* ``cli`` is the command group; it is a factory (:func:`command_group`) since
  where the database lives by default is the agent's configuration's business.

The names load lazily (PEP 562): ``gitops-agent --help`` mounts the command
group without importing the server, pydantic or YAML.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.emulator.cli import command_group
    from agent.emulator.cluster import EmulatedCluster
    from agent.emulator.faults import FaultConfig, parse_faults
    from agent.emulator.options import Options
    from agent.emulator.rest.serving import EmulatorServer, saved_kubeconfig, write_kubeconfig

__all__ = [
    "EmulatedCluster",
    "EmulatorServer",
    "FaultConfig",
    "Options",
    "command_group",
    "parse_faults",
    "saved_kubeconfig",
    "write_kubeconfig",
]


_HOMES = {
    "EmulatedCluster": "agent.emulator.cluster",
    "Options": "agent.emulator.options",
    "FaultConfig": "agent.emulator.faults",
    "parse_faults": "agent.emulator.faults",
    "EmulatorServer": "agent.emulator.rest.serving",
    "write_kubeconfig": "agent.emulator.rest.serving",
    "saved_kubeconfig": "agent.emulator.rest.serving",
    "command_group": "agent.emulator.cli",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # found once; later lookups do not come here
    return value
