"""Paths confined to a folder: the repository, an app folder or a chart.

Argo CD, Flux and Helm all shipped fixes for charts and values paths that
read files outside the repository through ``../`` or a symlink.  Every file
the render stage reads is found through these helpers, which resolve
symlinks first and refuse anything that lands outside its folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from agent.errors import RenderFailed


def inside(base: Path, rel: str, what: str, shown: str, scope: str = "repository") -> Path:
    """``base / rel`` with symlinks resolved; a RenderFailed when it leaves ``base``."""
    path = (base / rel).resolve()
    if not path.is_relative_to(base.resolve()):
        raise RenderFailed(f"{shown}: {what} {rel!r} leaves the {scope}; refused")
    return path


def walk_files(
    folder: Path, shown: str, boundary: Path | None = None, scope: str = "folder"
) -> Iterator[tuple[str, Path]]:
    """Every file under ``folder`` as (posix path relative to ``folder``, real
    path), in byte order of the relative path, so the result never depends on
    the file system's listing order.  Hidden files and folders (``.git``,
    ``.github``) are skipped.  A symlink whose target leaves ``boundary``
    (default: ``folder``; ``scope`` names it in messages) is refused; one
    inside it is followed once."""
    root = folder.resolve()
    limit = (boundary or folder).resolve()
    found: list[tuple[str, Path]] = []
    seen_dirs: set[Path] = set()

    def visit(real_dir: Path, rel_dir: str) -> None:
        if real_dir in seen_dirs:
            return
        seen_dirs.add(real_dir)
        with os.scandir(real_dir) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                rel = f"{rel_dir}{entry.name}"
                real = Path(entry.path)
                if entry.is_symlink():
                    real = real.resolve()
                    if not real.is_relative_to(limit):
                        raise RenderFailed(f"{shown}/{rel}: symlink points outside the {scope}; refused")
                if real.is_dir():
                    visit(real, rel + "/")
                elif real.is_file():
                    found.append((rel, real))

    if root.is_dir():
        visit(root, "")
    found.sort(key=lambda item: item[0].encode())
    return iter(found)


def read_text(path: Path, shown: str, max_bytes: int) -> str:
    """A UTF-8 file, refusing files larger than ``max_bytes`` before reading."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise RenderFailed(f"{shown}: file is larger than {max_bytes // (1024 * 1024)} MiB; refused")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RenderFailed(f"{shown}: file not found") from None
    except UnicodeDecodeError:
        raise RenderFailed(f"{shown}: not UTF-8 text") from None
    except OSError as e:
        raise RenderFailed(f"{shown}: cannot read: {e.strerror}") from None
