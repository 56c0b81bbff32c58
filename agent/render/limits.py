"""Limits that keep a hostile or broken chart from exhausting the agent.

A chart is code from a repository: it must not be able to eat the agent's
memory or CPU.  The sandboxed environment (:mod:`agent.render.sandbox`)
charges every loop iteration, call, filter and output chunk to the
:class:`Budget` of the render in progress; going over any limit stops the
render with a :class:`~agent.errors.RenderFailed` and nothing is applied.

The counted limits (iterations, call depth, sizes) are deterministic: the
same chart fails the same way on every machine.  The wall-clock limit is
checked at every charged step (each loop iteration, call, filter and
operator), so a render that makes many steps stops within a step of its
budget, naming the template and line.  One step can still run long where
no check reaches it (Python dividing two numbers of millions of bits,
comparing two deeply shared structures): for those, a chart renders in a
worker process (:mod:`agent.render.worker`) that is killed one second after
the deadline, and whose memory is capped at ``max_memory_bytes``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from agent.errors import RenderFailed

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_output_bytes: int = 20 * MiB  # all rendered text and files read, per app
    max_string_bytes: int = 20 * MiB  # any single string or operator result
    max_items: int = 1_000_000  # items of a list or map, nested ones counted, shared ones expanded
    max_iterations: int = 5_000_000  # loop iterations, per app
    max_call_depth: int = 100  # nested macro / include / tpl calls
    max_seconds: float = 30.0  # wall clock, per app
    max_int_bits: int = 4096  # any integer an operator makes (*, **, +, ...)
    max_memory_bytes: int = 1024 * MiB  # what the render's worker process may add to its heap


DEFAULT_LIMITS = Limits()

_current: ContextVar[Budget | None] = ContextVar("render_budget", default=None)


class Budget:
    """What one render has used so far."""

    __slots__ = ("deadline", "depth", "limits", "memo", "output", "ticks")

    def __init__(self, limits: Limits, deadline: float | None = None) -> None:
        self.limits = limits
        self.ticks = 0
        self.depth = 0
        self.output = 0
        self.deadline = time.monotonic() + limits.max_seconds if deadline is None else deadline
        self.memo: dict[int, tuple[Any, int]] = {}  # container id -> (container, expanded size)

    def tick(self, n: int = 1) -> None:
        self.ticks += n
        if self.ticks > self.limits.max_iterations:
            raise RenderFailed(
                f"the templates ran more than {self.limits.max_iterations:,} loop iterations; "
                "refused (an endless or exploding loop?)"
            )
        # the clock on every charged step (~50 ns): with every single step
        # bounded in size, no render outlives its budget by more than one step
        if time.monotonic() > self.deadline:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderFailed(f"rendering took longer than {self.limits.max_seconds:g} s; stopped")

    def add_output(self, n: int) -> None:
        self.output += n
        if self.output > self.limits.max_output_bytes:
            raise RenderFailed(
                f"the rendered output is larger than {self.limits.max_output_bytes // MiB} MiB; refused"
            )

    def check_size(self, value: Any, what: str = "a value") -> Any:
        """Refuse a string or list bigger than allowed (after the fact)."""
        if isinstance(value, str | bytes | list | tuple) and len(value) > self.limits.max_string_bytes:
            raise RenderFailed(f"{what} is larger than {self.limits.max_string_bytes // MiB} MiB; refused")
        return value

    def check_bits(self, bits: int, operator: str, what: str = "") -> None:
        """Refuse an integer larger than the limit: squaring a number in a
        loop doubles its size each time, and one multiplication of two huge
        numbers cannot be interrupted."""
        if bits > self.limits.max_int_bits:
            raise RenderFailed(
                f"{what or f'the {operator} operator'} would be a number of about {bits:,} bits "
                f"(limit {self.limits.max_int_bits:,}); refused"
            )

    def check_multiply(self, operator: str, left: Any, right: Any) -> None:
        """``*`` and ``**``, before they run: numbers bounded in bits,
        repeated strings and lists in size."""
        ints = isinstance(left, int) and isinstance(right, int)
        if operator == "**":
            if ints and right > 0 and abs(left) > 1:
                self.check_bits(abs(left).bit_length() * right, "**", f"{left} ** {right}")
            return
        if ints:
            self.check_bits(abs(left).bit_length() + abs(right).bit_length(), "*")
            return
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(n, int) and not isinstance(n, bool):
                self.check_planned(len(seq) * max(n, 0), "the * operator")
                if isinstance(seq, list | tuple) and len(seq) * max(n, 0) > self.limits.max_items:
                    most = self.limits.max_items
                    raise RenderFailed(
                        f"the * operator would make a list of more than {most:,} items; refused"
                    )

    def check_planned(self, size: int, what: str) -> None:
        """Refuse an operation whose result would be too big (before it runs)."""
        if size > self.limits.max_string_bytes:
            raise RenderFailed(
                f"{what} would make a value of {size:,} characters or items "
                f"(limit {self.limits.max_string_bytes:,}); refused"
            )


def current() -> Budget:
    """The budget of the render in progress; outside a render, a fresh one
    per call, so helpers stay usable in tests and tools."""
    return _current.get() or Budget(DEFAULT_LIMITS)


@contextmanager
def budget(limits: Limits, deadline: float | None = None) -> Iterator[Budget]:
    """Run a render under a fresh budget (``deadline``: a ``time.monotonic()``
    the render must end by, when it started elsewhere)."""
    b = Budget(limits, deadline)
    token = _current.set(b)
    try:
        yield b
    finally:
        _current.reset(token)
