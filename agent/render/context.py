"""What a template sees besides ``values`` and ``chart``: ``release``,
``capabilities`` and ``files``.

Nothing here reads the clock, the environment, the network or a cluster:
the output of a render is a pure function of the chart, the values, the
release and the capabilities passed in.  Every attribute that templates must
not reach (paths, caches) starts with ``_``, which the sandbox refuses.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import overload

from agent.errors import RenderFailed
from agent.render import limits
from agent.render.documents import dump_yaml
from agent.render.openapi import DEFAULT_KUBE_VERSION, served_api_versions
from agent.render.paths import walk_files


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    revision: int = 1
    is_install: bool = True
    service: str = "gitops-agent"

    @property
    def is_upgrade(self) -> bool:
        return not self.is_install


@dataclass(frozen=True)
class KubeVersion:
    version: str  # "v1.33.0"
    major: str
    minor: str

    @property
    def git_version(self) -> str:
        return self.version

    def __str__(self) -> str:
        return self.version

    @classmethod
    def parse(cls, text: str) -> KubeVersion:
        m = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?([-+].*)?$", text.strip())
        if not m:
            raise RenderFailed(f"kube version {text!r}: expected MAJOR.MINOR[.PATCH], like 1.33.0")
        major, minor, patch, rest = m.group(1), m.group(2), m.group(3) or "0", m.group(4) or ""
        return cls(f"v{major}.{minor}.{patch}{rest}", major, minor)


class APIVersions(Sequence[str]):
    """The API versions a cluster serves (``apps/v1``) and, for each,
    ``apps/v1/Deployment``; ``"apps/v1" in capabilities.api_versions``.

    Given a function instead of the versions, they are asked for on first
    use: discovering every API group is the costliest question to a
    cluster, and most renders (plain YAML, charts that never look) do
    without it."""

    __slots__ = ("_source", "_versions")

    def __init__(self, versions: Iterable[str] | Callable[[], Iterable[str]] = ()) -> None:
        self._source: Callable[[], Iterable[str]] | None = None
        self._versions: tuple[str, ...] | None = None
        if callable(versions):
            self._source = versions
        else:
            self._versions = tuple(versions)

    def _all(self) -> tuple[str, ...]:
        if self._versions is None:
            assert self._source is not None  # noqa: S101 - one of the two is always set
            self._versions = tuple(self._source())
            self._source = None
        return self._versions

    def known(self) -> tuple[str, ...] | None:
        """The versions when they are known already (None: not asked yet)."""
        return self._versions

    def has(self, name: str) -> bool:
        return name in self._all()

    def __contains__(self, name: object) -> bool:
        return name in self._all()

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return self._all()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, APIVersions | tuple | list):
            return self._all() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return f"APIVersions({list(self._all())!r})"


@dataclass(frozen=True)
class Capabilities:
    """The target cluster: from its discovery when connected, else
    :meth:`default` (Kubernetes 1.33 with every built-in API it serves)."""

    kube_version: KubeVersion = field(default_factory=lambda: KubeVersion.parse(DEFAULT_KUBE_VERSION))
    api_versions: APIVersions = field(default_factory=lambda: APIVersions(served_api_versions()))

    @classmethod
    def default(cls) -> Capabilities:
        return cls()

    @classmethod
    def of(cls, kube_version: str | None = None, api_versions: Iterable[str] = ()) -> Capabilities:
        """The default, with a Kubernetes version and extra API versions (for
        custom resources) given as ``helm template --kube-version --api-versions`` would."""
        kube = KubeVersion.parse(kube_version) if kube_version else KubeVersion.parse(DEFAULT_KUBE_VERSION)
        served = served_api_versions(f"{kube.major}.{kube.minor}")
        return cls(kube, APIVersions(sorted({*served, *api_versions}, key=str.encode)))


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Helm's ``Files.Glob`` patterns: ``*`` and ``?`` stay within one path
    segment, ``**`` crosses them, ``{a,b}`` and ``[abc]`` as usual."""
    out, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if ch == "*":
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "{":
            end = pattern.find("}", i)
            if end < 0:
                out += re.escape(ch)
            else:
                out += "(?:" + "|".join(re.escape(a) for a in pattern[i + 1 : end].split(",")) + ")"
                i = end
        elif ch == "[":
            end = pattern.find("]", i)
            if end < 0:
                out += re.escape(ch)
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                out += "[" + ("^" + body[1:] if body.startswith("!") else body) + "]"
                i = end
        else:
            out += re.escape(ch)
        i += 1
    return re.compile(f"^{out}$")


class Files:
    """The chart's own non-template files (``templates/`` and ``charts/``
    excluded), read-only and confined to the chart."""

    def __init__(self, root: Path, shown: str, names: tuple[str, ...] | None = None) -> None:
        self._root = root
        self._shown = shown
        self._only = names

    @cached_property
    def _index(self) -> dict[str, Path]:
        found = {
            rel: real
            for rel, real in walk_files(self._root, self._shown, scope="chart")
            if not rel.startswith(("templates/", "charts/"))
        }
        if self._only is not None:
            found = {n: found[n] for n in self._only}
        return found

    def _path(self, name: str) -> Path:
        path = self._index.get(str(name).removeprefix("./"))
        if path is None:
            raise RenderFailed(
                # the name is not quoted: a template may pass any value, a secret too
                f"files: a name of {len(str(name))} characters that is not a file of the chart "
                "(templates/ and charts/ are not files)"
            )
        return path

    def get_bytes(self, name: str) -> bytes:
        path = self._path(name)
        budget = limits.current()
        size = path.stat().st_size
        budget.check_planned(size, f"files.get({name!r})")
        budget.add_output(size)
        return path.read_bytes()

    def get(self, name: str) -> str:
        try:
            return self.get_bytes(name).decode("utf-8")
        except UnicodeDecodeError:
            raise RenderFailed(f"files: {name!r} is not UTF-8 text (use as_secrets or get_b64)") from None

    def get_b64(self, name: str) -> str:
        return base64.b64encode(self.get_bytes(name)).decode()

    def lines(self, name: str) -> list[str]:
        return self.get(name).splitlines()

    def glob(self, pattern: str) -> Files:
        regex = _glob_regex(str(pattern))
        return Files(self._root, self._shown, tuple(n for n in self._index if regex.match(n)))

    @property
    def names(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def as_config(self) -> str:
        """``data:`` of a ConfigMap: file base name -> content, as YAML."""
        data = {Path(n).name: self.get(n) for n in self._index}
        return dump_yaml(data, sort_keys=True).rstrip("\n") if data else ""

    def as_secrets(self) -> str:
        """``data:`` of a Secret: file base name -> base64 content, as YAML."""
        data = {Path(n).name: self.get_b64(n) for n in self._index}
        return dump_yaml(data, sort_keys=True).rstrip("\n") if data else ""
