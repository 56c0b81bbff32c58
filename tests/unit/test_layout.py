"""The layout stays readable: test modules share helpers through tests/support,
never by importing each other, and the agent's modules and functions stay
short enough to read in one sitting (a written ``# long: <reason>`` comment
lets a table or a dispatch through)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from tests.support.repos import PROJECT

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
_LONG = re.compile(r"#\s*long:\s*\S")


def _modules(folder: str) -> Iterator[tuple[Path, str, ast.Module]]:
    for path in sorted((PROJECT / folder).rglob("*.py")):
        text = path.read_text()
        yield path.relative_to(PROJECT), text, ast.parse(text)


def _imported(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_no_test_module_imports_another() -> None:
    found = [
        f"{path} imports {name}"
        for path, _, tree in _modules("tests")
        for name in _imported(tree)
        if name.startswith("tests.") and any(part.startswith("test_") for part in name.split("."))
    ]
    assert found == [], "move what they share to tests/support"


def _excused(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return first >= 2 and bool(_LONG.search(lines[first - 2]))


def _oversized() -> Iterator[str]:
    for path, text, tree in _modules("agent"):
        lines = text.splitlines()
        head = ast.get_docstring(tree) or ""
        if len(lines) > MAX_MODULE_LINES and not (_LONG.search(head) or _LONG.search("\n".join(lines[:3]))):
            yield f"{path}: {len(lines)} lines"
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES and not _excused(lines, node):
                    yield f"{path}:{node.lineno}: {node.name} is {size} lines"


def test_modules_and_functions_are_short_or_say_why() -> None:
    assert list(_oversized()) == []
