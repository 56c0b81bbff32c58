"""Helm's usual toolbox as Jinja filters and functions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agent.errors import RenderFailed
from agent.render import Limits
from tests.support.render import chart, run

VALUES = """\
name: web
empty_s: ""
zero: 0
flag: false
items: [b, a]
nested: {x: 1, y: [1, 2]}
port: 8080
ratio: 1.0
multi: "line1\\nline2"
tmpl: "{{ release.name }}-{{ values.name }}"
"""


def expr(tmp_path: Path, expression: str, **kw: object) -> str:
    """Render ``expression`` into a ConfigMap value and read it back."""
    root = chart(
        tmp_path,
        {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  v: " + expression + "\n"},
        values=VALUES,
    )
    obj = run(root, **kw).manifests[0].obj  # type: ignore[arg-type]
    return obj["data"]["v"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("{{ values.nested | to_json | quote }}", '{"x":1,"y":[1,2]}'),
        ("{{ values.nested | to_yaml | quote }}", "x: 1\ny:\n- 1\n- 2"),
        ("{{ ('{\"a\": [1]}' | from_json).a[0] | quote }}", "1"),
        ("{{ ('a: {b: c}' | from_yaml).a.b }}", "c"),
        ("{{ values.multi | indent(2) | quote }}", "  line1\n  line2"),
        ("{{ values.multi | nindent(2) | quote }}", "\n  line1\n  line2"),
        ("{{ values.port | quote }}", "8080"),
        ("{{ values.flag | quote }}", "false"),
        ("{{ values.ratio | quote }}", "1"),
        ('{{ "it\'s" | squote }}', "it's"),
        ("{{ values.name | b64enc }}", "d2Vi"),
        ('{{ "d2Vi" | b64dec }}', "web"),
        ('{{ "abc" | sha256sum }}', hashlib.sha256(b"abc").hexdigest()),
        ('{{ "abc" | sha1sum }}', hashlib.sha1(b"abc", usedforsecurity=False).hexdigest()),
        ('{{ values.missing | default("dflt") }}', "dflt"),
        ('{{ values.empty_s | default("dflt") }}', "dflt"),
        ('{{ values.zero | default("dflt") }}', "dflt"),
        ('{{ values.flag | default("dflt") }}', "dflt"),
        ('{{ values.name | default("dflt") }}', "web"),
        ('{{ ("x" * 70) | trunc(63) | length | quote }}', "63"),
        ('{{ "abc" | trunc(-2) }}', "bc"),
        ('{{ "my-release-" | trim_suffix("-") }}', "my-release"),
        ('{{ "v1.2" | trim_prefix("v") | quote }}', "1.2"),
        ('{{ semver_compare(">=1.28-0", capabilities.kube_version.version) | quote }}', "true"),
        ('{{ semver_compare("<1.20", capabilities.kube_version.version) | quote }}', "false"),
        ('{{ semver("v1.2.3-rc.1").minor | quote }}', "2"),
        ("{{ tpl(values.tmpl) }}", "rel-web"),
        ('{{ tpl("{{ greeting }}", greeting="hi") }}', "hi"),
        ("{{ merge(values.nested, {'x': 2, 'z': 3}) | to_json | quote }}", '{"x":2,"y":[1,2],"z":3}'),
        ("{{ empty(values.items) | quote }}", "false"),
        ("{{ values.items | sort | join(',') }}", "a,b"),
        ("{{ values.nested.keys() | list | join(',') }}", "x,y"),
        ('{{ include("_part.j2") | trim }}', "part of rel"),
        ('{{ include("_part.j2", "greet", "you") }}', "hello you"),
        ('{{ include("_part.j2", who="me") | trim }}', "part of me"),
        ("{{ values.missing is defined | quote }}", "false"),
        ('"{{ none }}"', "null"),
        ("{{ values.items | join(',') }}", "b,a"),  # a key wins over the dict method of that name
    ],
)
def test_filter(tmp_path: Path, expression: str, expected: str) -> None:
    (tmp_path / "chart" / "templates").mkdir(parents=True)
    (tmp_path / "chart" / "templates" / "_part.j2").write_text(
        "part of {{ who | default(release.name) }}\n{% macro greet(name) %}hello {{ name }}{% endmacro %}\n"
    )
    assert expr(tmp_path, expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            '{{ values.missing | required("missing is required") }}',
            r"templates/cm\.yaml:5: missing is required",
        ),
        ('{{ values.empty_s | required("empty is required") }}', "empty is required"),
        ('{{ fail("stop here: " ~ values.name) }}', r"templates/cm\.yaml:5: stop here: web"),
        ('{{ "%%%" | b64dec }}', "b64dec: not valid base64"),
        ('{{ "{" | from_json }}', "from_json: invalid JSON"),
        ('{{ "a: [" | from_yaml }}', r"from_yaml:\d+: invalid YAML"),
        ('{{ tpl("{{ oops") }}', "tpl: line 1 of the string"),
        ('{{ include("_nope.j2") }}', "template not found: no template of that name in the chart"),
        ('{{ semver_compare("~>x.y", "1.0.0") }}', "is not a version in a constraint"),
        ("{{ merge(1, 2) }}", "merge: expected maps"),
        ("{{ lipsum() }}", "'lipsum' is undefined"),
        ("{{ [1, 2] | random }}", "No filter named 'random'"),
        ("{{ now() }}", "'now' is undefined"),
        ("{{ lookup('v1', 'Secret', 'ns', 'x') }}", "'lookup' is undefined"),
        ("{{ env('HOME') }}", "'env' is undefined"),
    ],
)
def test_failing_expression(tmp_path: Path, expression: str, message: str) -> None:
    with pytest.raises(RenderFailed, match=message):
        expr(tmp_path, expression)


def test_to_yaml_keeps_order_and_prints_multiline_literals(tmp_path: Path) -> None:
    root = chart(
        tmp_path,
        {
            "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
            "data: {{ values.data | to_yaml | nindent(2) }}\n"
        },
        values="data:\n  z: last\n  a: |\n    one\n    two\n",
    )
    assert run(root).manifests[0].obj["data"] == {"z": "last", "a": "one\ntwo\n"}


def test_to_json_is_helm_compatible_bytes(tmp_path: Path) -> None:
    # Helm's toJson: keys sorted, no spaces: checksums match across tools
    assert expr(tmp_path, "{{ {'b': 1, 'a': [true, none]} | to_json | quote }}") == '{"a":[true,null],"b":1}'


def test_filters_are_metered(tmp_path: Path) -> None:
    with pytest.raises(RenderFailed, match="loop iterations"):
        expr(
            tmp_path, "{% for i in range(50) %}{{ i | string }}{% endfor %}", limits=Limits(max_iterations=60)
        )
