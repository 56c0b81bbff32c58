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

Inside, as a real API server is cut: the registry (the verbs over storage
and admission, by resource type) with the in-process client as a thin
adapter over it; ``admission/`` (an ordered chain of steps), ``fields/``
(patching, field sets, managed fields: pure), ``storage/`` (SQLite, lists,
selectors), ``lifecycle`` and ``controllers/`` behind the small ``ports``
protocol (no import circle), ``faults`` (one gate) and ``rest/`` (routing,
one handler per verb, watch, discovery, OpenAPI, tables, TLS, serving).

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
