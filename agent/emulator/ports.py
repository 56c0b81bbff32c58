"""What the lifecycle, the controllers and in-process watches need of the cluster.

They run beside the registry and act on it (the garbage collector deletes,
a controller writes status, a watch lists and waits for writes), while the
registry calls them after each write.  Each side depending on the other's
class made an import circle; both now depend on this small protocol instead,
which :class:`agent.emulator.registry.Registry` implements.  The same cut as
client-go's informer/lister interfaces that controllers take instead of the
API server's types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from agent.emulator.allocation import Allocator
from agent.emulator.faults import Faults
from agent.emulator.objects import JSON
from agent.emulator.options import Options
from agent.emulator.storage.listing import ListResult
from agent.emulator.storage.store import Store
from agent.kube.kinds import ResourceType

Listener = Callable[[int, str, str], None]  # (resourceVersion, group, plural) after a committed write
Change = Callable[[JSON], JSON | None]
SYSTEM_MANAGER = "kube-controller-manager"


class Cluster(Protocol):
    """The registry as its background parts see it."""

    store: Store
    options: Options
    faults: Faults
    allocator: Allocator

    def types(self) -> Mapping[tuple[str, str], ResourceType]:
        """Every served type by (group, plural)."""
        ...

    def resource_type(self, api_version: str, kind: str) -> ResourceType: ...

    def list_page(
        self, rt: ResourceType, namespace: str = "", label_selector: Mapping[str, str] | str | None = None
    ) -> ListResult: ...

    def system_write(
        self,
        rt: ResourceType,
        ns: str,
        name: str,
        change: Change,
        *,
        manager: str = SYSTEM_MANAGER,
        subresource: str = "",
    ) -> JSON | None:
        """Change an object as a controller would (through admission); None when gone or unchanged."""
        ...

    def system_create(
        self, rt: ResourceType, body: JSON, ns: str, manager: str = SYSTEM_MANAGER
    ) -> JSON | None:
        """Create an object as a controller would (through admission); None when it exists."""
        ...

    def system_delete(self, rt: ResourceType, ns: str, name: str) -> None:
        """Delete as a controller would."""
        ...

    def committed(self, rt: ResourceType, obj: JSON, rv: int, *, removed: bool = False) -> None:
        """Announce a write made outside the verbs (lifecycle's raw writes)."""
        ...

    def notify(self, rv: int, group: str, plural: str) -> None:
        """Wake the listeners only (a write of a type no longer served)."""
        ...

    def add_listener(self, fn: Listener) -> None: ...

    def remove_listener(self, fn: Listener) -> None: ...

    def run_due(self) -> None:
        """Run the controllers' work that is due."""
        ...

    def next_due(self) -> float | None:
        """When the controllers' next work falls due (epoch seconds)."""
        ...
