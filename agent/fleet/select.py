"""Choosing apps of the fleet: by name, and by labels (``--selector``).

The selector is kubectl's equality syntax (``-l team=shop,tier!=web``):
``key=value`` (or ``key==value``), ``key!=value``, a bare ``key`` (the
label is set) and ``!key`` (it is not); every term must hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from agent.config import AgentConfig, Application
from agent.errors import ConfigError
from agent.fleet import Fleet

_KEY = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
Op = Literal["=", "!=", "exists", "!exists"]


@dataclass(frozen=True)
class Term:
    key: str
    op: Op
    value: str = ""

    def holds(self, labels: Mapping[str, str]) -> bool:
        if self.op == "exists":
            return self.key in labels
        if self.op == "!exists":
            return self.key not in labels
        equal = labels.get(self.key) == self.value
        return equal if self.op == "=" else not equal


def parse_selector(text: str) -> tuple[Term, ...]:
    """``key=value[,key2!=value2,...]``; ValueError names the bad term."""
    terms: list[Term] = []
    for raw in text.split(","):
        part = raw.strip()
        key, op, value = _split(part)
        if not _KEY.match(key) or not _VALUE.match(value):
            raise ValueError(f"{part!r} is not a label selector term (key=value, key!=value, key, !key)")
        terms.append(Term(key, op, value))
    return tuple(terms)


def _split(part: str) -> tuple[str, Op, str]:
    for sep, op in (("!=", "!="), ("==", "="), ("=", "=")):
        if sep in part:
            key, _, value = part.partition(sep)
            return key.strip(), op, value.strip()  # type: ignore[return-value]
    if part.startswith("!"):
        return part[1:].strip(), "!exists", ""
    return part, "exists", ""


def matches(labels: Mapping[str, str], terms: Sequence[Term]) -> bool:
    return all(t.holds(labels) for t in terms)


def needs_fleet(config: AgentConfig, names: Sequence[str] | None, selector: str | None) -> bool:
    """Whether choosing these apps needs the resolved fleet: all apps, a
    selector, or a name ``agent.yaml`` does not list (declared in Git)."""
    listed = {a.name for a in config.apps}
    return not names or selector is not None or any(n not in listed for n in names)


def select(fleet: Fleet, names: Sequence[str] | None, terms: Sequence[Term] = ()) -> list[Application]:
    """The apps named (all when none), of those the ones the selector picks."""
    chosen = [fleet.app(n) for n in dict.fromkeys(names)] if names else [f.app for f in fleet.apps]
    return [a for a in chosen if matches(a.labels, terms)]


def describe_terms(terms: Sequence[Term]) -> str:
    shown = {"=": "{k}={v}", "!=": "{k}!={v}", "exists": "{k}", "!exists": "!{k}"}
    return ",".join(shown[t.op].format(k=t.key, v=t.value) for t in terms)


def no_match(terms: Sequence[Term], fleet: Fleet) -> ConfigError:
    return ConfigError(
        f"no app matches --selector {describe_terms(terms)} ({len(fleet.apps)} apps in the fleet)"
    )


__all__ = ["Term", "describe_terms", "matches", "needs_fleet", "no_match", "parse_selector", "select"]
