"""Charts pulled from an HTTP chart repository and from an OCI registry on
127.0.0.1: version ranges, credentials (sent, never shown), the digest
check, the cache (no request for a version already pulled) and malicious
archives refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.errors import SourceFailed
from agent.source.charts import ChartPuller, ChartRef
from agent.source.credentials import Credential, SecretSource
from tests.support.charts import chart_files, evil_archive, pack, serve

PASSWORD = "chart-pass-7f2e"


def _packed(tmp_path: Path, name: str, version: str) -> bytes:
    folder = chart_files(tmp_path / "src", name, version, {"values.yaml": f"version: {version}\n"})
    return pack(folder)


def _puller(tmp_path: Path, prefix: str, env: str = "CHART_PASSWORD") -> ChartPuller:
    cred = Credential(prefix=prefix, username="reader", password=SecretSource(env=env))
    return ChartPuller(tmp_path / "charts", (cred,), timeout=10)


def test_an_http_repository_with_a_password_and_a_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHART_PASSWORD", PASSWORD)
    with serve(user="reader", password=PASSWORD) as repo:
        for version in ("1.0.0", "1.2.0", "1.3.0-rc.1", "2.0.0"):
            repo.add_to_index("web", version, _packed(tmp_path, "web", version))
        puller = _puller(tmp_path, repo.base)
        pulled = puller.pull(ChartRef(repo.base, "web", "^1.0"))
        assert pulled.version == "1.2.0"
        assert (pulled.folder / "values.yaml").read_text() == "version: 1.2.0\n"
        assert pulled.digest.startswith("sha256:") and pulled.folder.name == "web"
        assert repo.requests == ["/index.yaml", "/charts/web-1.2.0.tgz"]
        exact = puller.pull(ChartRef(repo.base, "web", "1.2.0"))
        assert exact.folder == pulled.folder  # the same archive: unpacked once
        again = puller.pull(ChartRef(repo.base, "web", "1.2.0"))
        assert again == exact and len(repo.requests) == 4  # an exact version is asked once


def test_a_wrong_password_is_refused_and_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHART_PASSWORD", "wrong-" + PASSWORD)
    with serve(user="reader", password=PASSWORD) as repo:
        repo.add_to_index("web", "1.0.0", _packed(tmp_path, "web", "1.0.0"))
        with pytest.raises(SourceFailed, match=r"index\.yaml answered HTTP 401") as e:
            _puller(tmp_path, repo.base).pull(ChartRef(repo.base, "web", "1.0.0"))
    assert PASSWORD not in str(e.value) and "\n" not in str(e.value)


def test_an_archive_that_does_not_match_the_index_digest(tmp_path: Path) -> None:
    with serve() as repo:
        repo.add_to_index("web", "1.0.0", _packed(tmp_path, "web", "1.0.0"), digest="0" * 64)
        with pytest.raises(SourceFailed, match="does not match the digest of the index; refused"):
            ChartPuller(tmp_path / "charts").pull(ChartRef(repo.base, "web", "1.0.0"))
    assert not (tmp_path / "charts").exists() or not any((tmp_path / "charts").iterdir())


def test_an_oci_registry_with_the_token_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHART_PASSWORD", PASSWORD)
    with serve(registry=True, user="reader", password=PASSWORD) as registry:
        for version in ("0.9.0", "1.2.3", "1.2.9", "1.3.0"):
            registry.push("charts/api", version, _packed(tmp_path, "api", version))
        host = registry.base.removeprefix("http://")
        puller = _puller(tmp_path, f"oci://{host}/charts")
        pulled = puller.pull(ChartRef(f"oci://{host}/charts", "api", "~1.2.3", plain_http=True))
        assert pulled.version == "1.2.9"
        assert (pulled.folder / "values.yaml").read_text() == "version: 1.2.9\n"
        assert pulled.url == f"oci://{host}/charts/api:1.2.9"
        assert [r.split("?")[0] for r in registry.requests] == [
            "/v2/charts/api/tags/list",  # 401 with the token service's address
            "/token",
            "/v2/charts/api/tags/list",
            "/v2/charts/api/manifests/1.2.9",
            f"/v2/charts/api/blobs/{pulled.digest}",
        ]
        assert registry.token not in repr(pulled)


def test_no_version_meets_the_range(tmp_path: Path) -> None:
    with serve() as repo:
        repo.add_to_index("web", "1.0.0", _packed(tmp_path, "web", "1.0.0"))
        with pytest.raises(SourceFailed, match=re.escape("no version meets '>=3' (offered: 1.0.0)")):
            ChartPuller(tmp_path / "charts").pull(ChartRef(repo.base, "web", ">=3"))


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("dotdot", r"archive entry 'evil/\.\./\.\./escaped\.txt' leaves the chart; refused"),
        ("absolute", r"archive entry '/tmp/escaped\.txt' leaves the chart; refused"),
        ("symlink", r"archive entry 'evil/templates/link\.yaml' is a link; refused"),
        ("many", r"the archive holds more than 5,000 files; refused"),
        ("bomb", r"the archive unpacks to more than 50 MiB; refused"),
    ],
)
def test_malicious_archives_are_refused(tmp_path: Path, kind: str, message: str) -> None:
    with serve() as repo:
        repo.add_to_index("evil", "1.0.0", evil_archive(kind))
        with pytest.raises(SourceFailed, match=message) as e:
            ChartPuller(tmp_path / "charts").pull(ChartRef(repo.base, "evil", "1.0.0"))
    assert "\n" not in str(e.value)
    assert not (tmp_path / "escaped.txt").exists()
    assert not list((tmp_path / "charts").glob("sha256-*"))


def test_plain_http_needs_the_scheme_allowed(tmp_path: Path) -> None:
    puller = ChartPuller(tmp_path / "charts", allow_http=False)
    with pytest.raises(SourceFailed, match=r"plain HTTP is not allowed \(add http to source\.allowedSchemes"):
        puller.pull(ChartRef("http://127.0.0.1:1", "web", "1.0.0"))
    assert puller.requests == 0
