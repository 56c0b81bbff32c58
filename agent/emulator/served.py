"""Writes to a type through a version it is not stored in (autoscaling/v1 HorizontalPodAutoscalers).

The same verbs as :class:`agent.emulator.writes.Writes`: the body (or the patch,
applied to the live object as this version serves it) is converted to the
stored version (:mod:`agent.emulator.conversion`), admitted and stored as such,
and answered in the version asked for.  Not simulated: server-side apply through
such a version, and managedFields in its terms (entries name the stored version).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from agent.emulator import conversion
from agent.emulator.applying import Applied
from agent.emulator.fields import managed
from agent.emulator.objects import JSON, as_version, clone
from agent.emulator.ports import Change
from agent.emulator.writes import Writes
from agent.kube.errors import BadRequest
from agent.kube.kinds import ResourceType


class ConvertedWrites:
    def __init__(self, writes: Writes, types: Callable[[], Mapping[tuple[str, str], ResourceType]]) -> None:
        self._writes, self._types = writes, types

    def stored(self, rt: ResourceType) -> ResourceType:
        """The type in the version its objects are stored in (the preferred one)."""
        return self._types().get((rt.group, rt.plural)) or rt

    def create(self, rt: ResourceType, body: JSON, ns: str, manager: str, *, dry_run: bool) -> JSON:
        made = self._writes.create(self.stored(rt), to_stored(body), ns, manager, dry_run=dry_run)
        return as_version(made, rt)

    def update(self, rt: ResourceType, ns: str, name: str, change: Change, **options: Any) -> JSON:
        def through(live: JSON) -> JSON | None:
            served = change(as_version(clone(live), rt))
            return None if served is None else to_stored(served)

        return as_version(self._writes.update(self.stored(rt), ns, name, through, **options), rt)

    def apply(self, applied: Applied, writer: managed.Writer, **_: Any) -> tuple[JSON, bool]:
        """Server-side apply through a converted version: refused, naming the version to use."""
        rt = applied.rt
        raise BadRequest(
            f"server-side apply of {rt.api_version} {rt.kind} is not simulated by the emulated cluster; "
            f"apply it as {self.stored(rt).api_version}"
        )


def to_stored(body: JSON) -> JSON:
    """A body written in a converted version, in the stored one; a v1-only annotation that
    does not parse is refused (the real server fails its conversion)."""
    try:
        return conversion.hpa_to_v2(body)
    except ValueError as e:
        raise BadRequest(f"the object could not be converted to autoscaling/v2: {e}") from e
