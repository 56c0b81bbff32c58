"""Renders kept by what they were made from: a poll that finds the same
commit renders and schema-checks nothing again.

Argo CD's repo-server keeps generated manifests by revision and app source
the same way.  An app's render is kept (one per app, the latest) under its
commit, its whole configuration (path, values, every source field), its
owner id and whether it is a first install; it is used again for at most
RENDER_TTL seconds, so what a commit alone does not pin (the cluster's
version and APIs a chart asks about, a chart fetched from a repository by a
version range) is asked again at that pace.  The same tuple of manifests
comes back each time, so its digest is remembered too
(:func:`agent.sync.encoding.digest`).

With a ``folder`` (the state folder's ``renders/``) a render is also kept
in a file, so that the next process (a one-shot ``sync`` or ``diff`` right
after another, a restarted daemon) finds it: the manifests as rendered
(schema-checked: a render that fails its check is never kept), the app
definitions it declares (``Application`` and ``AppSet`` documents), the digest
the revision record takes of them, and when it was made (the same
RENDER_TTL, by the wall clock).  The file carries the sha256 of its body: a
file cut short or changed is ignored and the app rendered again.  Only a
render writes the file; a render found again writes nothing.  A render of
a chart pulled from a chart repository (or with dependencies pulled from
one) is kept in memory only: a version range may meet a newer chart, and
the next process looks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.config import Application
from agent.models import Manifest
from agent.render import RenderResult
from agent.sync import encoding
from agent.sync.render import AppRender, definitions_of

RENDER_TTL = 300.0
PULLED = ("chartRepository", "dependencies")  # inputs of a render that a commit does not pin
FORMAT = 2  # 2: with the app definitions the render declares
Key = tuple[str, str, str, bool]
log = logging.getLogger("gitops_agent.rendercache")


@dataclass
class RenderCache:
    ttl: float = RENDER_TTL
    folder: Path | None = None  # where renders are kept between processes (None: in memory only)
    _kept: dict[str, tuple[Key, float, RenderResult]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def rendered(
        self,
        app: Application,
        commit: str,
        owner: str,
        is_install: bool,
        render: Callable[[], RenderResult],
    ) -> RenderResult:
        # the configuration by its digest: kept per app, its JSON would cost more than the digest
        config = hashlib.sha256(app.model_dump_json().encode()).hexdigest()
        key = (commit, config, owner, is_install)
        with self._lock:
            kept = self._kept.get(app.name)
        if kept is not None and _same(kept[0], key, kept[2]) and time.monotonic() - kept[1] < self.ttl:
            return kept[2]
        found = self._read(app.name, key)
        if found is not None:
            result, age = found
            with self._lock:
                self._kept[app.name] = (key, time.monotonic() - age, result)
            return result
        result = render()  # a failed render raises: nothing is kept
        with self._lock:
            self._kept[app.name] = (key, time.monotonic(), result)
        self._write(app.name, key, result)
        return result

    # -- the files ----------------------------------------------------------------------
    def _path(self, name: str) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / (hashlib.sha256(name.encode()).hexdigest()[:32] + ".json")

    def _read(self, name: str, key: Key) -> tuple[RenderResult, float] | None:
        """The kept render of ``key`` and its age in seconds, or None (no
        file, another key, too old, or a file that does not check out)."""
        path = self._path(name)
        if path is None:
            return None
        try:
            with path.open("rb") as f:
                head = json.loads(f.readline())
                made_for = _key_digest(key, bool(head.get("chart")))
                if head.get("format") != FORMAT or head.get("key") != made_for:
                    return None
                age = time.time() - float(head["written"])
                if not 0 <= age < self.ttl:
                    return None
                body = f.read()
            if hashlib.sha256(body).hexdigest() != head["sha256"]:
                raise ValueError("its checksum does not match")
            return _result(json.loads(body)), age
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
            log.warning("the kept render of %s is unreadable (%s); rendering it again", name, e)
            return None

    def _write(self, name: str, key: Key, result: RenderResult) -> None:
        path = self._path(name)
        if path is None or any(k in result.inputs for k in PULLED):
            return
        body = json.dumps(_document(result), separators=(",", ":")).encode()
        head = {
            "format": FORMAT,
            "key": _key_digest(key, result.chart),
            "chart": result.chart,
            "written": time.time(),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".render-")
            with os.fdopen(fd, "wb") as f:
                f.write(json.dumps(head).encode() + b"\n" + body)
            os.replace(tmp, path)
        except OSError as e:  # a cache that cannot be written is only slower
            log.warning("could not keep the render of %s: %s", name, e)


def _same(kept: Key, key: Key, result: RenderResult) -> bool:
    """Whether a render made for ``kept`` serves ``key``: whether it is a
    first install matters only to a chart (``.Release.IsInstall``), so the
    sync after an app's first finds the first's render of plain YAML or a
    Kustomize tree."""
    return kept[:3] == key[:3] and (kept[3] == key[3] or not result.chart)


def _key_digest(key: Key, chart: bool) -> str:
    """What a file's render was made for (the install flag only for a chart)."""
    return hashlib.sha256(json.dumps([*key[:3], key[3] if chart else None]).encode()).hexdigest()


def _document(result: RenderResult) -> dict[str, Any]:
    """A render as its file holds it, with the digest its revision record takes."""
    return {
        "manifests": [[m.source, m.index, m.obj] for m in result.manifests],
        "digest": encoding.digest(result.manifests),
        "chart": result.chart,
        "notes": result.notes,
        "crds": result.crds,
        "inputs": result.inputs,
        "definitions": [[m.source, m.index, m.obj] for m in definitions_of(result)],
    }


def _result(doc: dict[str, Any]) -> RenderResult:
    manifests = tuple(Manifest(obj, str(source), int(index)) for source, index, obj in doc["manifests"])
    if not all(isinstance(m.obj, dict) for m in manifests):
        raise ValueError("a manifest is not an object")
    encoding.remember(manifests, str(doc["digest"]))
    definitions = tuple(Manifest(obj, str(source), int(index)) for source, index, obj in doc["definitions"])
    if not all(isinstance(m.obj, dict) for m in definitions):
        raise ValueError("an app definition is not an object")
    return AppRender(
        manifests,
        bool(doc["chart"]),
        str(doc["notes"]),
        int(doc["crds"]),
        dict(doc["inputs"]),
        definitions=definitions,
    )
