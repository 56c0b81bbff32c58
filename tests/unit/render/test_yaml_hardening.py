"""Every YAML read goes through one loader: tags it cannot hold, alias bombs
and recursive aliases are clean errors naming the file and line."""

from __future__ import annotations

import pytest

from agent.errors import ConfigError, RenderFailed
from agent.render.documents import load_documents

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(9)
)


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ('a: !!float ";"', "float"),
        ("a: !!float", "float"),
        ("a: !!timestamp nope", "timestamp"),
        ("a: !!timestamp not-a-date", "timestamp"),
        ('a: !!int "x"', "int"),
        ('a: !!bool "x"', "bool"),
    ],
)
def test_a_value_its_tag_cannot_hold_is_an_error_at_its_line(text: str, tag: str) -> None:
    with pytest.raises(
        RenderFailed, match=rf"^values\.yaml:2: invalid YAML: the value is not a valid !!{tag}$"
    ):
        load_documents("ok: 1\n" + text, "values.yaml")


def test_the_error_class_is_the_callers() -> None:
    with pytest.raises(ConfigError, match=r"agent\.yaml:1:"):
        load_documents("a: !!float ';'", "agent.yaml", error=ConfigError)
    with pytest.raises(ConfigError, match="alias bomb"):
        load_documents(BOMB, "agent.yaml", error=ConfigError)
    with pytest.raises(ConfigError, match="refers to itself"):
        load_documents("x: &a [*a]", "agent.yaml", error=ConfigError)
