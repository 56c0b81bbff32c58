"""Charts as trees: dependencies, values down the tree, libraries, CRDs,
notes, files, capabilities and the values schema."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.errors import RenderFailed
from agent.render import Capabilities, Release
from agent.render.context import APIVersions, KubeVersion
from agent.render.manifests import CHART_CRD_ANNOTATION, PRUNE_ANNOTATION
from tests.support.render import FIXTURES, by_name, chart, cm, run, write


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository holding the umbrella chart and the library it uses."""
    for name in ("umbrella", "lib"):
        shutil.copytree(FIXTURES / name, tmp_path / name)
    return tmp_path


def render_umbrella(repo: Path, **kw: object) -> dict[str, dict]:  # type: ignore[type-arg]
    return by_name(run(repo, "umbrella", release=Release("r", "ns"), **kw))  # type: ignore[arg-type]


def test_subcharts_render_after_crds_in_order(repo: Path) -> None:
    result = run(repo, "umbrella", release=Release("r", "ns"))
    assert [(m.key.kind, m.key.name) for m in result.manifests] == [
        ("CustomResourceDefinition", "widgets.example.com"),
        ("CustomResourceDefinition", "databases.example.com"),  # a subchart's crds/ too
        ("ConfigMap", "r-main"),
        ("Widget", "w"),
        ("ConfigMap", "extra"),  # in charts/ but not listed: a subchart all the same
        ("ConfigMap", "r-db"),  # the aliased db chart
    ]
    assert result.crds == 2


def test_crds_are_marked_for_the_planner_and_never_pruned(repo: Path) -> None:
    objs = render_umbrella(repo)
    annotations = objs["CustomResourceDefinition/widgets.example.com"]["metadata"]["annotations"]
    assert annotations == {CHART_CRD_ANNOTATION: "umbrella", PRUNE_ANNOTATION: "disabled"}
    assert (
        objs["CustomResourceDefinition/databases.example.com"]["metadata"]["annotations"][
            CHART_CRD_ANNOTATION
        ]
        == "db"
    )


def test_crds_folder_holds_crds_only(repo: Path) -> None:
    write(repo, {"umbrella/crds/bad.yaml": cm("x")})
    with pytest.raises(
        RenderFailed,
        match=r"umbrella/crds/bad\.yaml \(document 1\): crds/ holds CustomResourceDefinitions only",
    ):
        run(repo, "umbrella")


def test_crds_are_never_templated(repo: Path) -> None:
    write(repo, {"umbrella/crds/t.yaml": "{{ values.greeting }}\n"})
    with pytest.raises(RenderFailed, match=r"umbrella/crds/t\.yaml:1: invalid YAML"):
        run(repo, "umbrella")


def test_subchart_values_alias_global_and_defaults(repo: Path) -> None:
    db = render_umbrella(repo)["ConfigMap/r-db"]["data"]
    # parent's values under the alias over the subchart's defaults; the
    # parent's global over the subchart's global, merged key by key
    assert db == {"size": "5Gi", "engine": "pg", "region": "eu", "dbOnly": "true"}


def test_app_null_deletes_a_subchart_default(repo: Path) -> None:
    write(
        repo,
        {
            "umbrella/charts/db/templates/db.yaml": cm(
                "{{ release.name }}-db", "{keys: {{ values.keys() | list | join(',') | quote }}}"
            )
        },
    )
    data = render_umbrella(repo, values={"store": {"engine": None}})["ConfigMap/r-db"]["data"]
    assert data["keys"] == "size,global,enabled"


@pytest.mark.parametrize(
    ("values", "present"),
    [
        ({}, True),
        ({"store": {"enabled": False}}, False),
        ({"store": {"enabled": None}, "global": {"storeEnabled": False}}, False),  # second path decides
        ({"store": {"enabled": "yes"}}, True),  # not a boolean: ignored, as in Helm
    ],
)
def test_condition_switches_a_subchart(repo: Path, values: dict, present: bool) -> None:  # type: ignore[type-arg]
    objs = render_umbrella(repo, values=values)
    assert ("ConfigMap/r-db" in objs) is present
    assert ("CustomResourceDefinition/databases.example.com" in objs) is present


def test_tags_switch_a_subchart(repo: Path) -> None:
    assert "ConfigMap/cache" not in render_umbrella(repo)
    cache = render_umbrella(repo, values={"tags": {"extras": True}})["ConfigMap/cache"]
    assert cache["data"] == {"ttl": "60"}


def test_library_macros_in_parent_and_subchart_with_their_own_context(repo: Path) -> None:
    objs = render_umbrella(repo)
    assert objs["ConfigMap/r-main"]["metadata"]["labels"] == {"app": "r-umbrella-x"}
    assert objs["ConfigMap/extra"]["metadata"]["labels"] == {"app": "r-extra-x"}


def test_library_chart_alone_renders_nothing_and_says_so(repo: Path) -> None:
    with pytest.raises(RenderFailed, match="lib is a library chart"):
        run(repo, "lib")


def test_files_capabilities_and_notes(repo: Path) -> None:
    result = run(repo, "umbrella", release=Release("r", "ns"))
    data = by_name(result)["ConfigMap/r-main"]["data"]
    assert data["conf"] == "greeting = hi\n"
    assert data["names"] == "files/b.txt,files/nested/a.txt"
    assert data["app.conf"] == "greeting = hi\n"  # as_config: base name -> content
    assert data["kube"] == "v1.33.0"
    assert data["hasApps"] == "true"
    assert result.notes == "umbrella 1.2.3 installed as r in ns."


def test_capabilities_can_be_given(repo: Path) -> None:
    caps = Capabilities.of("1.30.2", ["example.com/v1"])
    data = render_umbrella(repo, capabilities=caps)["ConfigMap/r-main"]["data"]
    assert data["kube"] == "v1.30.2"
    assert "example.com/v1" in caps.api_versions and caps.api_versions.has("apps/v1/Deployment")


def test_served_apis_are_asked_for_only_when_a_template_looks(repo: Path) -> None:
    asked: list[str] = []

    def served() -> list[str]:
        asked.append("discovery")
        return ["v1", "apps/v1", "apps/v1/Deployment"]

    lazy = Capabilities(KubeVersion.parse("1.31.0"), APIVersions(served))
    plain = repo / "plain"
    write(plain, {"cm.yaml": cm("plain")})
    run(repo, "plain", capabilities=lambda: lazy)
    assert asked == []  # plain YAML: the version for the schema check is enough
    data = render_umbrella(repo, capabilities=lazy)["ConfigMap/r-main"]["data"]
    assert data["hasApps"] == "true" and data["kube"] == "v1.31.0"
    assert asked == ["discovery"]  # asked once, when the chart looked
    assert lazy.api_versions == ("v1", "apps/v1", "apps/v1/Deployment")
    assert list(lazy.api_versions) == ["v1", "apps/v1", "apps/v1/Deployment"] and len(lazy.api_versions) == 3
    assert asked == ["discovery"]


def test_values_schema_violation_names_field_not_value(repo: Path) -> None:
    with pytest.raises(RenderFailed) as e:
        run(repo, "umbrella", values={"greeting": "x", "port": "secret-8080"})
    msg = str(e.value)
    assert "umbrella/values.schema.json: values do not match the schema" in msg
    assert "greeting: must satisfy minLength 2" in msg
    assert "port: must be of type integer, not string" in msg
    assert "secret-8080" not in msg


def test_invalid_schema_is_reported(repo: Path) -> None:
    write(repo, {"umbrella/values.schema.json": '{"type": "nonsense"}'})
    with pytest.raises(RenderFailed, match=r"values\.schema\.json: not a valid JSON Schema"):
        run(repo, "umbrella")


def test_remote_schema_refs_are_never_fetched(repo: Path) -> None:
    write(repo, {"umbrella/values.schema.json": '{"$ref": "https://schemas.example.com/x.json"}'})
    with pytest.raises(RenderFailed, match="cannot check values"):
        run(repo, "umbrella")


@pytest.mark.parametrize(
    ("chart_yaml", "message"),
    [
        ("name: x\n", "missing version"),
        ("version: 1.0.0\n", "missing name"),
        ("name: x\nversion: one\n", "is not a semantic version"),
        ("name: x\nversion: 1.0.0\ntype: app\n", "type must be application or library"),
        ("apiVersion: v3\nname: x\nversion: 1.0.0\n", "apiVersion must be v1 or v2"),
        ("name: x\nversion: 1.0.0\ndependencies: [{name: y}]\n", "dependency 'y' is not vendored in charts/"),
        (
            "name: x\nversion: 1.0.0\ndependencies: [{name: y, repository: 'file://../../../'}]\n",
            "leaves the repository; refused",
        ),
        ("name: x\nversion: 1.0.0\ndependencies: [{name: y, repository: 'file://nowhere'}]\n", "no chart at"),
        (
            "name: x\nversion: 1.0.0\ndependencies: [{name: a}, {name: a}]\n",
            "two dependencies are called 'a'",
        ),
    ],
)
def test_bad_chart_yaml(tmp_path: Path, chart_yaml: str, message: str) -> None:
    write(tmp_path, {"repo/chart/Chart.yaml": chart_yaml})
    with pytest.raises(RenderFailed, match=message):
        run(tmp_path / "repo", "chart")


def test_dependency_version_must_match(repo: Path) -> None:
    text = (repo / "umbrella" / "Chart.yaml").read_text().replace("^2.0.0", "^3.0.0")
    write(repo, {"umbrella/Chart.yaml": text})
    with pytest.raises(RenderFailed, match=r"dependency 'lib' wants version '\^3\.0\.0', lib is 2\.1\.0"):
        run(repo, "umbrella")


def test_packaged_subcharts_are_refused_with_advice(tmp_path: Path) -> None:
    root = chart(tmp_path, {"a.yaml": cm("a")})
    write(root, {"chart/charts/redis-1.0.0.tgz": "binary"})
    with pytest.raises(RenderFailed, match="packaged charts are not read; unpack it"):
        run(root)


def test_a_chart_depending_on_itself(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"a/Chart.yaml": "name: a\nversion: 1.0.0\ndependencies: [{name: a, repository: 'file://.'}]\n"},
    )
    with pytest.raises(RenderFailed, match="depends on itself"):
        run(tmp_path, "a")


def test_notes_only_of_the_top_chart_and_not_as_manifests(tmp_path: Path) -> None:
    root = chart(tmp_path, {"NOTES.txt.j2": "Hello {{ release.name }}\n", "a.yaml": cm("a")})
    write(
        root,
        {
            "chart/charts/sub/Chart.yaml": "name: sub\nversion: 1.0.0\n",
            "chart/charts/sub/templates/NOTES.txt": "sub",
        },
    )
    result = run(root)
    assert result.notes == "Hello rel"
    assert [m.key.name for m in result.manifests] == ["a"]


def test_files_helpers(tmp_path: Path) -> None:
    root = chart(
        tmp_path,
        {
            "cm.yaml": cm(
                "a",
                "{lines: {{ files.lines('conf/a.txt') | length | quote }}, "
                "b64: {{ files.get_b64('conf/a.txt') | quote }}, "
                "n: {{ files.glob('conf/*') | length | quote }}, has: {{ ('conf/a.txt' in files) | quote }}}",
            ),
            "secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n"
            "  {{ files.glob('conf/{a,b}.txt').as_secrets() | indent(2) | trim }}\n",
        },
    )
    write(root, {"chart/conf/a.txt": "one\ntwo\n", "chart/conf/b.txt": "b", "chart/conf/sub/c.txt": "c"})
    objs = by_name(run(root))
    assert objs["ConfigMap/a"]["data"] == {"lines": "2", "b64": "b25lCnR3bwo=", "n": "2", "has": "true"}
    assert objs["Secret/s"]["data"] == {"a.txt": "b25lCnR3bwo=", "b.txt": "Yg=="}


def test_files_cannot_read_templates(tmp_path: Path) -> None:
    root = chart(tmp_path, {"cm.yaml": cm("a", "{x: {{ files.get('templates/cm.yaml') | quote }}}")})
    with pytest.raises(RenderFailed, match="is not a file of the chart"):
        run(root)


def test_release_and_chart_context(tmp_path: Path) -> None:
    root = chart(
        tmp_path,
        {
            "cm.yaml": cm(
                "a",
                "{rev: {{ release.revision | quote }}, install: {{ release.is_install | quote }}, "
                "upgrade: {{ release.is_upgrade | quote }}, svc: {{ release.service }}, "
                "app: {{ chart.appVersion | quote }}}",
            )
        },
    )
    data = run(root, release=Release("r", "ns", revision=4, is_install=False)).manifests[0].obj["data"]
    assert data == {"rev": "4", "install": "false", "upgrade": "true", "svc": "gitops-agent", "app": "2.0"}
