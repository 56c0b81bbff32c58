"""Find the agent's own output templates, installed or in a checkout.

The top-level ``templates/`` folder is shipped inside the wheel as
``agent/_templates``; in a source checkout (or an editable install) it is
read from the repository root.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2


def templates_dir() -> Path:
    package = Path(__file__).resolve().parent.parent
    installed = package / "_templates"
    if installed.is_dir():
        return installed
    checkout = package.parent / "templates"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"the agent's templates are missing (looked in {installed} and {checkout})")


@cache
def environment() -> jinja2.Environment:
    import jinja2  # ~30 ms: only Markdown and HTML reports need it

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["short"] = lambda v, n=60: _short(v, n)
    env.filters["md_code"] = md_code
    env.filters["fence"] = fence
    env.filters["md_cell"] = md_cell
    return env


def md_code(value: object, limit: int = 60) -> str:
    """A value as a Markdown code span that is safe in a table cell: long
    enough backtick fences, ``|`` escaped, one line."""
    import re

    text = _short(value, limit).replace("\n", " ").replace("|", "\\|")
    runs = [len(r) for r in re.findall(r"`+", text)]
    ticks = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def md_cell(value: object) -> str:
    """Text as a Markdown table cell: one line, ``|`` escaped, ``-`` when empty."""
    text = " ".join(str(value).split()).replace("|", "\\|")
    return text or "-"


def fence(text: str) -> str:
    """A code fence longer than any backtick run inside ``text``."""
    import re

    return "`" * max(3, max((len(r) + 1 for r in re.findall(r"`{3,}", text)), default=3))


def _short(value: object, limit: int) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)
