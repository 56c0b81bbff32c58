"""Helm charts from chart repositories: an HTTP repository's ``index.yaml``
or an OCI registry, as ``helm pull`` fetches them.

* **Versions**: ``version`` is a version or a range (``^1.2``, ``~1.2.3``,
  ``>=1.0 <2``, Helm's constraint language); the highest version the index
  or the registry's tags offer that meets it is taken (pre-releases only
  when the range names one, as Helm does).  A resolved range is asked again
  after :data:`RESOLVE_TTL` seconds; an exact version is never asked twice.
* **Credentials** come from ``source.credentials``, as for Git: the entry
  with the longest URL prefix of the chart repository's URL.  They go in an
  ``Authorization`` header only to the repository's own host (Helm's
  ``--pass-credentials`` is off), never into a URL, a path or a message.
  An OCI registry's token flow (``WWW-Authenticate: Bearer``) is followed.
* **Archives** are checked against the digest the index or the manifest
  gives, and unpacked with limits: at most :data:`MAX_FILES` files and
  :data:`MAX_BYTES` bytes unpacked, regular files and folders only (no
  links, devices), no absolute path and no ``..``, everything under one top
  folder.  An unpacked chart is kept under ``<stateDir>/charts/<digest>``,
  so a chart version is downloaded once.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import tarfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from agent.errors import AgentError, SourceFailed
from agent.redact import mask_url, register_secret
from agent.render.documents import load_documents
from agent.render.semver import Version, constraint, parse
from agent.source.credentials import Credential

if TYPE_CHECKING:  # httpx (with rich, through its command line) loads with the first pull
    import httpx

MAX_FILES = 5_000
MAX_BYTES = 50 * 1024 * 1024  # unpacked
MAX_DOWNLOAD = 20 * 1024 * 1024  # an index or an archive
RESOLVE_TTL = 300.0
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class ChartRef:
    repo: str  # https://charts.example.com or oci://registry.example.com/charts
    name: str
    version: str  # a version or a range
    plain_http: bool = False  # an OCI registry over plain HTTP (a local one)


@dataclass(frozen=True)
class PulledChart:
    folder: Path  # the unpacked chart
    name: str
    version: str
    digest: str  # sha256:<hex> of the archive
    url: str  # where it came from (credentials masked)


class ChartPuller:
    """Pulls charts into ``cache_dir`` with ``credentials``."""

    def __init__(
        self,
        cache_dir: Path,
        credentials: tuple[Credential, ...] = (),
        timeout: float = 60.0,
        allow_http: bool = True,
    ) -> None:
        self.cache_dir = cache_dir
        self.allow_http = allow_http  # source.allowedSchemes lists http
        self.credentials = credentials
        self.timeout = timeout
        self._resolved: dict[tuple[str, str, str], tuple[float, str, str, str]] = {}
        self._lock = threading.Lock()
        self.requests = 0  # HTTP requests made (tests count them)
        self._bearer: dict[str, str] = {}  # a registry's token, for the pull in progress

    def pull(self, ref: ChartRef) -> PulledChart:
        import httpx  # noqa: PLC0415 - see above

        shown = f"chart {ref.name} {ref.version} from {mask_url(ref.repo)}"
        try:
            return self._pull(ref, shown)
        except httpx.HTTPError as e:
            raise SourceFailed(f"{shown}: {type(e).__name__}: {_first_line(str(e))}") from None

    def _pull(self, ref: ChartRef, shown: str) -> PulledChart:
        if (ref.plain_http or ref.repo.startswith("http://")) and not self.allow_http:
            raise SourceFailed(
                f"{shown}: plain HTTP is not allowed (add http to source.allowedSchemes to allow it)"
            )
        key = (ref.repo, ref.name, ref.version)
        with self._lock:
            known = self._resolved.get(key)
        exact = _is_exact(ref.version)
        if known is not None and (exact or time.monotonic() - known[0] < RESOLVE_TTL):
            _, version, url, digest = known
            folder = self._folder(digest)
            if folder is not None:
                return PulledChart(folder, ref.name, version, digest, mask_url(url))
        self._bearer = {}
        with self._client(ref) as client:
            if ref.repo.startswith("oci://"):
                version, url, data, digest = self._from_registry(client, ref, shown)
            else:
                version, url, data, digest = self._from_index(client, ref, shown)
        folder = self._folder(digest) or self._unpack(data, digest, ref.name, shown)
        with self._lock:
            self._resolved[key] = (time.monotonic(), version, url, digest)
        return PulledChart(folder, ref.name, version, digest, mask_url(url))

    # -- HTTP chart repositories ------------------------------------------------------------
    def _from_index(self, client: httpx.Client, ref: ChartRef, shown: str) -> tuple[str, str, bytes, str]:
        base = ref.repo.rstrip("/") + "/"
        text = self._get(client, urljoin(base, "index.yaml"), ref, shown).decode("utf-8", "replace")
        docs = load_documents(text, f"{mask_url(base)}index.yaml", error=SourceFailed)
        index = docs[0] if docs and isinstance(docs[0], dict) else {}
        entries = [e for e in (index.get("entries") or {}).get(ref.name) or () if isinstance(e, dict)]
        if not entries:
            raise SourceFailed(f"{shown}: the repository has no chart named {ref.name}")
        versions = {str(e.get("version")): e for e in entries}
        version = _best(list(versions), ref.version, shown)
        entry = versions[version]
        urls = [u for u in entry.get("urls") or () if isinstance(u, str)]
        if not urls:
            raise SourceFailed(f"{shown}: index entry {version} has no urls")
        url = urljoin(base, urls[0])
        data = self._get(client, url, ref, shown)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        want = entry.get("digest")
        if isinstance(want, str) and want and want.removeprefix("sha256:") != digest.removeprefix("sha256:"):
            raise SourceFailed(f"{shown}: {mask_url(url)} does not match the digest of the index; refused")
        return version, url, data, digest

    # -- OCI registries ---------------------------------------------------------------------
    def _from_registry(self, client: httpx.Client, ref: ChartRef, shown: str) -> tuple[str, str, bytes, str]:
        parts = urlsplit(ref.repo)
        scheme = "http" if ref.plain_http else "https"
        base = f"{scheme}://{parts.netloc}"
        repository = f"{parts.path.strip('/')}/{ref.name}".strip("/")
        tags_doc = self._json(client, f"{base}/v2/{repository}/tags/list", ref, shown)
        tags = [str(t) for t in tags_doc.get("tags") or ()]
        versions = {t.replace("_", "+"): t for t in tags}  # Helm writes "+" as "_" in tags
        version = _best(list(versions), ref.version, shown)
        manifest = self._json(
            client, f"{base}/v2/{repository}/manifests/{versions[version]}", ref, shown, MANIFEST_TYPES
        )
        layers = [
            layer
            for layer in manifest.get("layers") or ()
            if isinstance(layer, dict) and layer.get("mediaType") == HELM_LAYER
        ]
        if len(layers) != 1 or not isinstance(layers[0].get("digest"), str):
            raise SourceFailed(f"{shown}: the manifest of {version} has no Helm chart layer")
        digest = str(layers[0]["digest"])
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            raise SourceFailed(f"{shown}: unsupported layer digest {digest[:80]!r}")
        data = self._get(client, f"{base}/v2/{repository}/blobs/{digest}", ref, shown)
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise SourceFailed(f"{shown}: the chart layer does not match its digest; refused")
        return version, f"oci://{parts.netloc}/{repository}:{versions[version]}", data, digest

    # -- HTTP ---------------------------------------------------------------------------------
    def _client(self, ref: ChartRef) -> httpx.Client:
        import httpx  # noqa: PLC0415 - see above

        return httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False)

    def _credential(self, url: str) -> Credential | None:
        def norm(u: str) -> str:
            return re.sub(r"^(oci|https?)://", "", u).rstrip("/")

        target = norm(url)
        found = [
            c for c in self.credentials if target == norm(c.prefix) or target.startswith(norm(c.prefix) + "/")
        ]
        return max(found, key=lambda c: len(c.prefix)) if found else None

    def _auth(self, ref: ChartRef, shown: str) -> tuple[str, str] | None:
        cred = self._credential(ref.repo)
        if cred is None or cred.password is None:
            return None
        password = cred.password.read(f"{shown}: password").strip()
        register_secret(password)
        return (cred.username or "", password)

    def _request(
        self, client: httpx.Client, url: str, ref: ChartRef, shown: str, accept: str = ""
    ) -> httpx.Response:
        headers = {"Accept": accept} if accept else {}
        host = urlsplit(url).netloc
        same_host = host == urlsplit(ref.repo.replace("oci://", "https://", 1)).netloc
        auth = self._auth(ref, shown) if same_host else None
        if same_host and host in self._bearer:
            headers["Authorization"] = f"Bearer {self._bearer[host]}"
            auth = None
        import httpx  # noqa: PLC0415 - see above

        for _ in range(5):  # redirects, followed by hand: credentials never follow to another host
            self.requests += 1
            with client.stream("GET", url, headers=headers, auth=auth or httpx.USE_CLIENT_DEFAULT) as resp:
                if resp.status_code == 401 and auth is not None and ref.repo.startswith("oci://"):
                    token = self._bearer[host] = self._token(client, resp, auth, shown)
                    headers["Authorization"] = f"Bearer {token}"
                    auth = None
                    continue
                if resp.is_redirect and "location" in resp.headers:
                    nxt = urljoin(url, resp.headers["location"])
                    if urlsplit(nxt).netloc != urlsplit(url).netloc:
                        auth = None
                        headers.pop("Authorization", None)
                    url = nxt
                    continue
                if resp.status_code != 200:
                    raise SourceFailed(f"{shown}: {mask_url(url)} answered HTTP {resp.status_code}")
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_DOWNLOAD:
                        raise SourceFailed(
                            f"{shown}: {mask_url(url)} is larger than {MAX_DOWNLOAD >> 20} MiB; refused"
                        )
                resp._content = bytes(body)
                return resp
        raise SourceFailed(f"{shown}: too many redirects or authentication rounds at {mask_url(url)}")

    def _token(self, client: httpx.Client, resp: httpx.Response, auth: tuple[str, str], shown: str) -> str:
        challenge = resp.headers.get("www-authenticate", "")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        if not challenge.lower().startswith("bearer") or "realm" not in fields:
            raise SourceFailed(f"{shown}: the registry refused the credentials (HTTP 401)")
        params = {k: v for k, v in fields.items() if k in ("service", "scope")}
        self.requests += 1
        got = client.get(fields["realm"], params=params, auth=auth)
        if got.status_code != 200:
            raise SourceFailed(f"{shown}: the registry's token service answered HTTP {got.status_code}")
        body: dict[str, Any] = got.json()
        token = str(body.get("token") or body.get("access_token") or "")
        if not token:
            raise SourceFailed(f"{shown}: the registry's token service gave no token")
        register_secret(token)
        return token

    def _get(self, client: httpx.Client, url: str, ref: ChartRef, shown: str) -> bytes:
        return self._request(client, url, ref, shown).content

    def _json(
        self, client: httpx.Client, url: str, ref: ChartRef, shown: str, accept: str = ""
    ) -> dict[str, Any]:
        resp = self._request(client, url, ref, shown, accept)
        try:
            doc = resp.json()
        except ValueError:
            raise SourceFailed(f"{shown}: {mask_url(url)} did not answer JSON") from None
        if not isinstance(doc, dict):
            raise SourceFailed(f"{shown}: {mask_url(url)} did not answer a JSON object")
        return doc

    # -- the cache ----------------------------------------------------------------------------
    def _folder(self, digest: str) -> Path | None:
        done = self.cache_dir / digest.replace(":", "-")
        found = [p for p in done.iterdir() if p.is_dir()] if done.is_dir() else []
        return found[0] if len(found) == 1 else None

    def _unpack(self, data: bytes, digest: str, name: str, shown: str) -> Path:
        target = self.cache_dir / digest.replace(":", "-")
        tmp = self.cache_dir / f".{digest.replace(':', '-')}.{threading.get_ident()}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            top = unpack_archive(data, tmp, shown)
            if top != name:
                raise SourceFailed(f"{shown}: the archive holds chart folder {top!r}, not {name!r}; refused")
            try:
                tmp.rename(target)
            except OSError:  # another process unpacked it first
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target / name


def unpack_archive(data: bytes, dest: Path, shown: str) -> str:
    """Unpack a chart ``.tgz`` into ``dest`` with the module's checks; the
    name of its one top folder."""
    tops: set[str] = set()
    files = 0
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                path = PurePosixPath(member.name)
                if (
                    member.name.startswith("/")
                    or path.is_absolute()
                    or ".." in path.parts
                    or "\\" in member.name
                ):
                    raise SourceFailed(
                        f"{shown}: archive entry {member.name[:200]!r} leaves the chart; refused"
                    )
                if member.issym() or member.islnk():
                    raise SourceFailed(f"{shown}: archive entry {member.name[:200]!r} is a link; refused")
                if not (member.isfile() or member.isdir()):
                    raise SourceFailed(f"{shown}: archive entry {member.name[:200]!r} is not a file; refused")
                parts = [p for p in path.parts if p not in ("", ".")]
                if not parts:
                    continue
                tops.add(parts[0])
                if member.isdir():
                    continue
                files += 1
                total += member.size
                if files > MAX_FILES:
                    raise SourceFailed(f"{shown}: the archive holds more than {MAX_FILES:,} files; refused")
                if total > MAX_BYTES:
                    raise SourceFailed(
                        f"{shown}: the archive unpacks to more than {MAX_BYTES >> 20} MiB; refused"
                    )
                src = tar.extractfile(member)
                if src is None:
                    continue
                out = dest.joinpath(*parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(src.read(member.size + 1)[: member.size])
    except (tarfile.TarError, EOFError, OSError, ValueError) as e:
        if isinstance(e, AgentError):
            raise
        raise SourceFailed(f"{shown}: not a chart archive (.tgz): {_first_line(str(e))}") from None
    if len(tops) != 1:
        raise SourceFailed(f"{shown}: a chart archive holds one top folder, found {len(tops)}; refused")
    return tops.pop()


def _is_exact(text: str) -> bool:
    return re.fullmatch(r"v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?", text) is not None


def _best(versions: list[str], wanted: str, shown: str) -> str:
    try:
        allowed = constraint(wanted)
    except AgentError as e:
        raise SourceFailed(f"{shown}: {e}") from None
    found: list[tuple[Version, str]] = []
    for v in versions:
        try:
            parsed = parse(v)
        except AgentError:
            continue
        if v == wanted or allowed.allows(parsed):
            found.append((parsed, v))
    if not found:
        offered = ", ".join(sorted(versions)[-5:]) or "none"
        raise SourceFailed(f"{shown}: no version meets {wanted!r} (offered: {offered})")
    return max(found, key=lambda f: _order(f[0]))[1]


def _order(v: Version) -> tuple[int, int, int, int, tuple[str, ...]]:
    return (v.major, v.minor, v.patch, 0 if v.prerelease else 1, v.prerelease)


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:300]
