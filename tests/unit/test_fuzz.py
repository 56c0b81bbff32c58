"""Property tests over every parser that reads input: whatever the input,
the answer is a value or the parser's own clean error, never another
exception or a hang.  A few seconds in the normal suite; ``FUZZ_EXAMPLES``
(e.g. 20000) runs each target longer.  A crash found here is kept as an
``@example`` of its target."""

from __future__ import annotations

import contextlib
import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent.config import load_config, parse_config
from agent.daemon.matching import repo_key, selected
from agent.daemon.webhooks import PROVIDERS, Push, WebhookError, parse
from agent.diff.paths import PathError, parse_dotted, parse_pointer
from agent.errors import AgentError, ConfigError, RenderFailed, SourceFailed
from agent.render.documents import load_documents
from agent.render.values import parse_set
from agent.source.urls import KNOWN_SCHEMES, UrlPolicy, check_url
from tests.support.render import run, write

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

YAML_BITS = st.sampled_from(
    [
        "a: ",
        "- ",
        "&x ",
        "*x",
        "!!float ",
        "!!int ",
        "!!timestamp ",
        "!!binary ",
        "!!bool ",
        "!!str ",
        "!!map ",
        "!!seq ",
        "<<: ",
        "? ",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\n",
        "  ",
        "---\n",
        "'",
        '"',
        "|",
        ">",
        "#",
        "%YAML 1.1\n",
        "1e400",
        ".nan",
        ";",
        "2024-01-01",
        "~",
        "null",
        "yes",
        "0x1F",
        "\t",
    ]
)
yaml_text = st.one_of(st.text(max_size=200), st.lists(YAML_BITS, max_size=40).map("".join))


@FUZZ
@given(yaml_text)
@example("a: !!float ';'")
@example("x: &a [*a]")
@example("t: !!timestamp nope")
def test_the_yaml_loader_answers_data_or_a_clean_error(text: str) -> None:
    with contextlib.suppress(RenderFailed):
        load_documents(text, "f.yaml")


@FUZZ
@given(yaml_text)
@example("x: &a [*a]\napps: []")
@example("apps:\n- {name: a, repo: r, path: ., values: {t: !!timestamp nope}}")
def test_the_config_loader_answers_a_config_or_a_clean_error(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("cfg") / "agent.yaml"
    path.write_text(text)
    with contextlib.suppress(ConfigError):
        load_config(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
config_keys = st.sampled_from(
    ["apps", "cluster", "source", "daemon", "name", "repo", "path", "values", "syncPolicy"]
)


@FUZZ
@given(st.dictionaries(config_keys, json_values, max_size=4))
def test_parse_config_answers_a_config_or_a_clean_error(
    tmp_path_factory: pytest.TempPathFactory, data: dict
) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(data, "agent.yaml", Path("/nonexistent"))


set_bits = st.sampled_from(["a", ".", "=", ",", "[", "]", "0", "9999999", "\\", "{", "}", "null", "-1", "x"])


@FUZZ
@given(st.lists(st.one_of(st.text(max_size=30), st.lists(set_bits, max_size=20).map("".join)), max_size=4))
@example(["a[99999999999]=1"])
def test_set_answers_values_or_a_clean_error(items: list[str]) -> None:
    for as_string in (False, True):
        with contextlib.suppress(RenderFailed):
            parse_set(items, as_string)


url_bits = st.sampled_from(
    [
        "http://",
        "https://",
        "ssh://",
        "git://",
        "file://",
        "ext::",
        "fd::",
        "-",
        "[",
        "]",
        "::1",
        "@",
        ":",
        "/",
        "host",
        "%",
        "99999",
        "git@",
        "..",
        "\x00",
        " ",
    ]
)


@FUZZ
@given(st.one_of(st.text(max_size=60), st.lists(url_bits, max_size=12).map("".join)))
@example("http://[::1/x.git")
@example("http://[::1")
def test_url_checks_and_matching_never_raise_otherwise(url: str) -> None:
    with contextlib.suppress(SourceFailed):
        check_url(url, UrlPolicy(KNOWN_SCHEMES))
    repo_key(url)
    selected([("a", url, "HEAD")], [Push((url,), "refs/heads/main", None)])


path_bits = st.sampled_from(
    ["/", "~0", "~1", "~", "a", ".", "[", "]", "*", "=", '"', "\\", "0", "name=web", "[*]"]
)


@FUZZ
@given(st.one_of(st.text(max_size=40), st.lists(path_bits, max_size=16).map("".join)))
@example('[0="]')  # a quoted value that is not a JSON string: was a JSONDecodeError
def test_pointer_and_path_parsing_answer_a_path_or_a_path_error(text: str) -> None:
    for parser in (parse_pointer, parse_dotted):
        with contextlib.suppress(PathError):
            parser(text)


json_bits = st.sampled_from(
    [
        "{",
        "}",
        "[",
        "]",
        '"ref"',
        '"repository"',
        ":",
        ",",
        '"refs/heads/main"',
        '"clone_url"',
        '"http://[::1"',
        "null",
        "1",
        '"changes"',
        '"push"',
        '"payload"',
    ]
)


@FUZZ
@given(
    st.sampled_from(sorted(PROVIDERS)),
    st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain"]),
    st.sampled_from(["push", "ping", "Push Hook", "repo:refs_changed", "repo:push", ""]),
    st.one_of(st.binary(max_size=200), st.lists(json_bits, max_size=40).map(lambda b: "".join(b).encode())),
)
def test_webhook_parsers_answer_an_event_or_a_clean_refusal(
    provider: str, ctype: str, event: str, body: bytes
) -> None:
    headers = {
        "content-type": ctype,
        "x-github-event": event,
        "x-gitea-event": event,
        "x-gitlab-event": event,
        "x-event-key": event,
    }
    try:
        parsed = parse(provider, headers, body)
    except WebhookError as e:
        assert 400 <= e.status < 500
        return
    selected([("a", "https://h/x.git", "HEAD")], parsed.pushes)


EXPR = st.sampled_from(
    [
        "1",
        "'x'",
        "values",
        "values.a",
        "[1, 2]",
        "{'a': 1}",
        "ns.x",
        "2 ** 64",
        "'x' * 9",
        "range(5)",
        "''|attr('__class__')",
        "values.__init__",
        "self",
        "none",
        "lookup",
        "3.5",
        "-1",
        "(1, 2)",
    ]
)
OP = st.sampled_from(
    [" * ", " ** ", " + ", " ~ ", " // ", " % ", " | length", " | string", " | toYaml", "|int"]
)
BLOCK = st.sampled_from(
    [
        "{{ %s }}",
        "{%% set ns.x = %s %%}",
        "{%% for i in range(3) %%}{{ %s }}{%% endfor %%}",
        "{%% if %s %%}y{%% endif %%}",
        "{{ (%s) | default('d') }}",
    ]
)


CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: "


@st.composite
def templates(draw: st.DrawFn) -> str:
    parts = ["{% set ns = namespace(x=3) %}"]
    for _ in range(draw(st.integers(1, 5))):
        expr = draw(EXPR)
        for _ in range(draw(st.integers(0, 3))):
            op = draw(OP)
            expr = f"({expr}{op})" if op.startswith(" |") else f"({expr}{op}{draw(EXPR)})"
        parts.append(draw(BLOCK) % expr)
    return "".join(parts)


@FUZZ
@given(templates())
@example("{% set ns = namespace(x=3) %}{% for i in range(28) %}{% set ns.x = ns.x * ns.x %}{% endfor %}")
def test_the_sandbox_answers_output_or_a_render_error(
    tmp_path_factory: pytest.TempPathFactory, template: str
) -> None:
    root = tmp_path_factory.mktemp("chart")
    text = "".join(c if c in string.printable else "?" for c in template).replace("\n", " ")
    write(
        root,
        {
            "c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
            "c/values.yaml": "a: 1\n",
            "c/templates/cm.yaml": f"{CM}{{v: {text!r}}}\n",
        },
    )
    with contextlib.suppress(AgentError):
        run(root, "c")


cron_bits = st.sampled_from(
    ["*", "/", ",", "-", "?", "0", "7", "9", "59", "99", "sun", "mon", "x", "@daily", " "]
)


@FUZZ
@given(st.one_of(st.text(max_size=30), st.lists(cron_bits, max_size=14).map("".join)))
@example("0 0 * * 7-0")  # a weekday range running backwards
@example("0 0 * * */0")  # a step of zero
def test_a_sync_window_schedule_answers_a_window_or_a_clean_error(schedule: str) -> None:
    window = {"kind": "deny", "schedule": schedule, "duration": "1h"}
    with contextlib.suppress(ConfigError):
        parse_config({"syncWindows": [window]}, "agent.yaml", Path("/nonexistent"))
