"""Semantic versions and the version constraints Helm charts use.

Chart dependencies (``version: "~1.2"``) and templates
(``semver_compare(">=1.28-0", capabilities.kube_version.version)``) speak
the constraint language of Helm (Masterminds/semver): comparisons ``= != >
< >= <=``, ``~`` (patch-level changes), ``^`` (compatible changes), wildcards
``1.2.x`` and ``*``, hyphen ranges ``1.2 - 1.4``, ``,`` or a space for
"and", ``||`` for "or".  As in Helm, a pre-release version (``1.28.0-rc.1``)
only satisfies a comparison that itself names a pre-release, which is why
people write ``>=1.28-0``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from agent.errors import RenderFailed

_VERSION = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>0|[1-9]\d*))?(?:\.(?P<patch>0|[1-9]\d*))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_WILD = {"x", "X", "*"}


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = ""

    @property
    def version(self) -> str:
        pre = "-" + ".".join(self.prerelease) if self.prerelease else ""
        return f"{self.major}.{self.minor}.{self.patch}{pre}"

    def __str__(self) -> str:
        return self.version + (f"+{self.build}" if self.build else "")

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        # A release sorts after its pre-releases; numeric identifiers sort
        # numerically and before alphanumeric ones (SemVer 2.0 section 11).
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __le__(self, other: Version) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: Version) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: Version) -> bool:
        return self._key() >= other._key()

    def same(self, other: Version) -> bool:
        return self._key() == other._key()


@lru_cache(maxsize=1024)
def parse(text: str) -> Version:
    m = _VERSION.match(str(text).strip())
    if not m:
        # the value is not quoted: a template may pass anything, a secret too
        raise RenderFailed(
            f"a value of {len(str(text))} characters is not a semantic version (MAJOR.MINOR.PATCH)"
        )
    pre = tuple(m.group("pre").split(".")) if m.group("pre") else ()
    return Version(
        int(m.group("major")),
        int(m.group("minor") or 0),
        int(m.group("patch") or 0),
        pre,
        m.group("build") or "",
    )


# A comparison: operator, version, whether the written version named a
# pre-release, and the upper end for "out" (a partial "!=1.2": not in [1.2, 1.3)).
_Cmp = tuple[str, Version, bool, Version | None]
_OPS: dict[str, Callable[[Version, Version], bool]] = {
    "=": lambda v, c: v.same(c),
    "!=": lambda v, c: not v.same(c),
    ">": lambda v, c: v > c,
    "<": lambda v, c: v < c,
    ">=": lambda v, c: v >= c,
    "<=": lambda v, c: v <= c,
}
_TERM = re.compile(r"^(?P<op>!=|>=|=>|<=|=<|~>|[=<>~^])?(?P<ver>\S+)$")
_ZERO = Version(0, 0, 0)


def _parts(text: str) -> tuple[list[str], Version, bool]:
    """A possibly partial or wildcard version: its written numeric parts, the
    version with missing or wild parts as 0, and whether it names a pre-release."""
    core = text.partition("+")[0]
    core, _, pre = core.partition("-")
    parts = core.removeprefix("v").split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() or p in _WILD for p in parts):
        raise RenderFailed(f"{text!r} is not a version in a constraint")
    concrete: list[str] = []
    for p in parts:
        if p in _WILD:
            break
        concrete.append(p)
    padded = ".".join([*concrete, "0", "0", "0"][:3]) + (f"-{pre}" if pre else "")
    return concrete, parse(padded), bool(pre)


def _bump(concrete: list[str], index: int) -> Version:
    """The lowest version above every version starting with ``concrete[:index+1]``."""
    nums = ([int(p) for p in concrete] + [0, 0, 0])[:3]
    nums[index] += 1
    for i in range(index + 1, 3):
        nums[i] = 0
    return Version(nums[0], nums[1], nums[2], ("0",))  # "-0" also excludes its pre-releases


def _expand(term: str) -> list[_Cmp]:
    m = _TERM.match(term)
    if not m:
        raise RenderFailed(f"{term!r} is not a version constraint")
    written = m.group("op") or "="
    op = {"=>": ">=", "=<": "<=", "~>": "~"}.get(written, written)
    concrete, low, pre = _parts(m.group("ver"))
    n = len(concrete)
    if n == 0:  # "*", "x": any version (and "!=*" none)
        return [("<", _ZERO, False, None)] if op == "!=" else [(">=", _ZERO, False, None)]
    if op == "~":
        return [(">=", low, pre, None), ("<", _bump(concrete, 0 if n == 1 else 1), True, None)]
    if op == "^":
        first = next((i for i, p in enumerate(concrete) if int(p) != 0), n - 1)
        return [(">=", low, pre, None), ("<", _bump(concrete, first), True, None)]
    if n < 3:  # a partial or wildcard version stands for a range
        upper = _bump(concrete, n - 1)
        ranges: dict[str, list[_Cmp]] = {
            "=": [(">=", low, pre, None), ("<", upper, True, None)],
            "!=": [("out", low, pre, upper)],
            ">": [(">=", upper, True, None)],
            ">=": [(">=", low, pre, None)],
            "<": [("<", low, pre, None)],
            "<=": [("<", upper, True, None)],
        }
        return ranges[op]
    return [(op, low, pre, None)]


@dataclass(frozen=True)
class Constraint:
    text: str
    groups: tuple[tuple[_Cmp, ...], ...]

    def allows(self, version: Version | str) -> bool:
        v = parse(version) if isinstance(version, str) else version
        return any(self._group_allows(group, v) for group in self.groups)

    @staticmethod
    def _group_allows(group: tuple[_Cmp, ...], v: Version) -> bool:
        for op, c, pre, high in group:
            if v.prerelease and not pre:
                return False
            if op == "out":
                if high is not None and c <= v < high:
                    return False
            elif not _OPS[op](v, c):
                return False
        return True


@lru_cache(maxsize=1024)
def constraint(text: str) -> Constraint:
    groups: list[tuple[_Cmp, ...]] = []
    for written in str(text).split("||"):
        alternative = re.sub(r"(!=|>=|=>|<=|=<|~>|[=<>~^])\s+", r"\1", written.strip())
        terms = [t for t in re.split(r"[\s,]+", alternative) if t]
        if not terms:
            raise RenderFailed(f"{text!r}: empty version constraint")
        cmps: list[_Cmp] = []
        i = 0
        while i < len(terms):
            if i + 2 < len(terms) and terms[i + 1] == "-":  # hyphen range "a - b"
                _, low, low_pre = _parts(terms[i])
                concrete, high, pre = _parts(terms[i + 2])
                top: _Cmp = (
                    ("<", _bump(concrete, len(concrete) - 1), True, None)
                    if len(concrete) < 3
                    else ("<=", high, pre, None)
                )
                cmps += [(">=", low, low_pre, None), top]
                i += 3
                continue
            cmps += _expand(terms[i])
            i += 1
        groups.append(tuple(cmps))
    return Constraint(str(text), tuple(groups))


def satisfies(version: str, constraint_text: str) -> bool:
    """True when ``version`` meets ``constraint_text``; a bad version or
    constraint is a RenderFailed."""
    return constraint(constraint_text).allows(parse(version))
