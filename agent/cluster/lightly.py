"""The official client's package, loaded by the parts used.

``import kubernetes`` runs the package's ``__init__``, which imports every
part of it: the dynamic client (and with it ``kubernetes_validate`` and
``jsonschema``), the websocket streams, the informers, leader election.  The
agent uses the client's configuration, its connection pool and kubeconfig
loader, and the dynamic client only to discover a custom resource's
endpoint.  :func:`load_lightly` registers the package without running its
``__init__``: each part (``kubernetes.client``, ``kubernetes.dynamic``, ...)
loads when it is first imported or named, as an attribute of the package
or in an ``import``.  A process that has imported the package already keeps
it as it is.  This saves every command about 90 ms and the daemon 4 MiB.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
from types import ModuleType


def load_lightly() -> None:
    if "kubernetes" in sys.modules:
        return
    spec = importlib.util.find_spec("kubernetes")
    if spec is None or spec.loader is None:
        return  # not installed: the first import says so
    package = importlib.util.module_from_spec(spec)

    def part(name: str) -> ModuleType | str:
        if name == "__version__":
            return importlib.metadata.version("kubernetes")
        if name.startswith("__"):
            raise AttributeError(name)
        return importlib.import_module(f"kubernetes.{name}")

    package.__getattr__ = part  # type: ignore[method-assign]
    sys.modules["kubernetes"] = package
