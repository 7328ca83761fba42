"""ChartRepositories: chart versions, archives and expanded charts from Helm repositories.

- HTTP(S) repositories: the versions of a chart come from its `index.yaml` (http_repo.py,
  read in the render sandbox), the archive from the URL the index gives, checked against
  the index's digest.
- OCI registries (`oci://host/path`): versions are the registry's tags of `path/chart`, the
  digest is the manifest's (oci.py).

Every connection goes through the outbound guard (reconciler.core.outbound): a repository,
an archive URL, a redirect or a token service on a loopback, private or metadata address
is refused unless RECONCILER_ALLOWED_PRIVATE_HOSTS allows it; errors say the status code and
what failed in our words, never what the server sent.

Versions are cached for `versions_ttl` seconds in memory and, when `shared` is given, in
Redis for every worker: the same window as the shared `git ls-remote` listing, so a burst
of polls asks a repository once. Archives are immutable per digest and cached on disk by
it; a chart expanded once is read by every render of that digest.

Credentials come from the same RECONCILER_REPO_<N>_* groups as Git's, by URL prefix. They
go in request headers only (never argv, a URL, a log line or an error), to the repository's
own host unless passCredentials.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from reconciler.core.chart_versions import constraint_of, newest_first, pick_version
from reconciler.core.outbound import FetchError, OutboundPolicy, OutboundRefused, guarded_client
from reconciler.core.urls import normalize_repo_url
from reconciler.source.git.credentials import CredentialStore, RepoCredentials
from reconciler.source.helm.http_repo import MAX_ARCHIVE_BYTES, basic_auth, download, fetch_index
from reconciler.source.helm.oci import OciClient
from reconciler.source.render.errors import RenderError

DEFAULT_VERSIONS_TTL = 10.0
_SHOWN_VERSIONS = 10


class ChartFetchError(RenderError):
    """A chart or its repository could not be read; the message names both."""

    retryable = True  # the repository or registry may answer next time


class SharedChartVersions(Protocol):
    """The Redis cache every worker shares (reconciler.state.Store)."""

    def cached_chart_versions(self, chart_key: str) -> str | None: ...

    def cache_chart_versions(self, chart_key: str, text: str, ttl_seconds: float) -> None: ...


@dataclass(frozen=True)
class ResolvedChart:
    repo_url: str
    name: str
    version: str  # exact
    digest: str  # hex sha256: the archive's (HTTP index) or the OCI manifest's; "" when the index has none
    url: str = ""  # the archive's URL in an HTTP index (absolute, or relative to the repository)

    @property
    def is_oci(self) -> bool:
        return is_oci(self.repo_url)


def is_oci(repo_url: str) -> bool:
    return repo_url.startswith("oci://")


class ChartRepositories:
    def __init__(
        self,
        cache_dir: Path,
        credentials: CredentialStore | None = None,
        *,
        versions_ttl: float = DEFAULT_VERSIONS_TTL,
        shared: SharedChartVersions | None = None,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.credentials = credentials or CredentialStore()
        self.versions_ttl = versions_ttl
        self.shared = shared
        self._versions: dict[str, tuple[float, dict[str, list[str]]]] = {}
        self._guard = threading.Lock()
        self._http = guarded_client(outbound or OutboundPolicy())
        self._oci = OciClient(self._http)

    # -- versions ---------------------------------------------------------------------

    def resolve(self, repo_url: str, chart: str, constraint: str, *, field: str = "spec.source") -> ResolvedChart:
        """The highest version of `chart` in `repo_url` that satisfies `constraint`."""
        versions = self.versions(repo_url, chart, field=field)
        version = pick_version(versions, constraint)
        if version is None:
            newest = newest_first(versions)[:_SHOWN_VERSIONS]
            raise ChartFetchError(
                f"{field}: chart {chart!r} has no version matching {constraint_of(constraint)!r} in "
                f"{_shown(repo_url)} (it has {', '.join(newest) or 'none'}): fix the version constraint"
            )
        digest, url = versions[version]
        if not digest and is_oci(repo_url):
            digest = self._oci_digest(repo_url, chart, version, field)
        return ResolvedChart(repo_url=repo_url, name=chart, version=version, digest=digest, url=url)

    def versions(self, repo_url: str, chart: str, *, field: str = "spec.source") -> dict[str, list[str]]:
        """{version: [digest, archive URL]} of `chart` (OCI: digest "" until resolved, no URL),
        cached for versions_ttl."""
        key = f"{normalize_repo_url(repo_url)}/{chart}"
        now = time.monotonic()
        with self._guard:
            cached = self._versions.get(key)
        if cached is not None and now - cached[0] < self.versions_ttl:
            return cached[1]
        found: dict[str, list[str]] | None = None
        if self.shared is not None:
            text = self.shared.cached_chart_versions(key)
            found = json.loads(text) if text else None
        if found is None:
            found = self._oci_tags(repo_url, chart, field) if is_oci(repo_url) else self._index(repo_url, chart, field)
            if self.shared is not None:
                self.shared.cache_chart_versions(key, json.dumps(found), self.versions_ttl)
        with self._guard:
            self._versions[key] = (now, found)
        return found

    def _index(self, repo_url: str, chart: str, field: str) -> dict[str, list[str]]:
        from reconciler.source.render.helm_engine import read_index
        from reconciler.source.render.sandboxed import run_render

        scratch = Path(tempfile.mkdtemp(prefix="index-", dir=self._ensure(self.cache_dir / "tmp")))
        try:
            fetch_index(self._http, repo_url, self._credentials(repo_url), scratch / "index.yaml")
            found = run_render(read_index, (scratch / "index.yaml", chart, _SHOWN_VERSIONS),
                               tool="reading the repository's index.yaml", origin=field)  # fmt: skip
        except (FetchError, OutboundRefused) as err:
            raise ChartFetchError(
                f"{field}: cannot read the Helm repository {_shown(repo_url)}: {err}; "
                "check the URL and its credentials (RECONCILER_REPO_<N>_URL/USERNAME/PASSWORD)"
            ) from None
        except RenderError as err:
            raise ChartFetchError(f"{field}: the Helm repository {_shown(repo_url)}: {err.message}") from None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if "versions" not in found:
            raise ChartFetchError(
                f"{field}: chart {chart!r} is not in the Helm repository {_shown(repo_url)} "
                f"(it has {', '.join(found['names']) or 'no charts'}): fix the chart name or the repository URL"
            )
        return dict(found["versions"])

    def _oci_tags(self, repo_url: str, chart: str, field: str) -> dict[str, list[str]]:
        reference = _oci_reference(repo_url, chart)
        try:
            tags = self._oci.tags(reference, self._credentials(repo_url))
        except (FetchError, OutboundRefused) as err:
            raise ChartFetchError(
                f"{field}: cannot list the versions of {_shown(reference)}: {err}; check the registry URL, the "
                "chart name and the registry's credentials (RECONCILER_REPO_<N>_URL/USERNAME/PASSWORD)"
            ) from None
        return {tag: ["", ""] for tag in tags}

    def _oci_digest(self, repo_url: str, chart: str, version: str, field: str) -> str:
        reference = _oci_reference(repo_url, chart)
        try:
            digest, _ = self._oci.manifest(reference, version.replace("+", "_"), self._credentials(repo_url))
        except (FetchError, OutboundRefused) as err:
            raise ChartFetchError(f"{field}: cannot resolve {_shown(reference)}:{version}: {err}") from None
        key = f"{normalize_repo_url(repo_url)}/{chart}"
        with self._guard:  # tags of released charts do not move: keep the digest with the listing
            cached = self._versions.get(key)
            if cached is not None:
                cached[1][version] = [digest, ""]
        return digest

    # -- archives ---------------------------------------------------------------------

    def archive(self, ref: ResolvedChart, *, field: str = "spec.source", pass_credentials: bool = False) -> Path:
        """The chart's .tgz, from the cache when its digest was fetched before. `pass_credentials`
        (helm.passCredentials) sends the repository's credentials to a chart URL on another host."""
        if ref.digest:
            cached = self.cache_dir / "archives" / f"{ref.digest}.tgz"
            if cached.is_file():
                return cached
        creds = self._credentials(ref.repo_url)
        scratch = Path(tempfile.mkdtemp(prefix="pull-", dir=self._ensure(self.cache_dir / "tmp")))
        try:
            archive = scratch / f"{ref.name}-{ref.version}.tgz"
            try:
                if ref.is_oci:
                    self._oci.pull(_oci_reference(ref.repo_url, ref.name), ref.version.replace("+", "_"), creds,
                                   archive)  # fmt: skip
                else:
                    self._pull_http(ref, archive, creds, pass_credentials)
            except (FetchError, OutboundRefused) as err:
                raise ChartFetchError(
                    f"{field}: cannot download chart {ref.name!r} {ref.version} from {_shown(ref.repo_url)}: {err}"
                ) from None
            pulled = sorted(scratch.glob("*.tgz"))
            if len(pulled) != 1:
                raise ChartFetchError(f"{field}: downloading chart {ref.name!r} {ref.version} gave no archive")
            content_digest = _sha256(pulled[0])
            if ref.digest and not ref.is_oci and content_digest != ref.digest:
                raise ChartFetchError(
                    f"{field}: chart {ref.name!r} {ref.version} from {_shown(ref.repo_url)} does not match the "
                    f"digest in the repository's index (sha256:{ref.digest}): the repository is inconsistent"
                )
            target = self._ensure(self.cache_dir / "archives") / f"{ref.digest or content_digest}.tgz"
            os.replace(pulled[0], target)
            return target
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def expanded(self, ref: ResolvedChart, *, field: str = "spec.source", pass_credentials: bool = False) -> Path:
        """A folder holding the chart expanded as `<folder>/<chart name>/`; shared by digest."""
        archive = self.archive(ref, field=field, pass_credentials=pass_credentials)
        target = self.cache_dir / "expanded" / archive.stem
        if target.is_dir():
            return target
        from reconciler.source.render.helm_engine import expand_archive
        from reconciler.source.render.sandboxed import run_render

        scratch = Path(tempfile.mkdtemp(prefix="expand-", dir=self._ensure(self.cache_dir / "tmp")))
        what = f"chart {ref.name!r} {ref.version}"
        try:  # an archive is the chart author's input: unpacked in the render sandbox
            run_render(expand_archive, (scratch, archive, what), tool="helm chart expansion", origin=field)
        except RenderError as err:
            shutil.rmtree(scratch, ignore_errors=True)
            raise ChartFetchError(f"{field}: {err.message}") from None
        self._ensure(target.parent)
        try:
            os.replace(scratch, target)
        except OSError:  # another worker expanded it first
            shutil.rmtree(scratch, ignore_errors=True)
        return target

    # -- plumbing ---------------------------------------------------------------------

    def _credentials(self, repo_url: str) -> RepoCredentials:
        return self.credentials.lookup(repo_url) or RepoCredentials()

    def _pull_http(self, ref: ResolvedChart, archive: Path, creds: RepoCredentials, pass_credentials: bool) -> None:
        repository = ref.repo_url.rstrip("/") + "/"
        url = urljoin(repository, ref.url) if ref.url else urljoin(repository, f"{ref.name}-{ref.version}.tgz")
        # As Helm and Argo CD: the repository's credentials go to an archive on another host only
        # with passCredentials.
        same_host = urlsplit(url).netloc == urlsplit(ref.repo_url).netloc
        auth = basic_auth(creds) if same_host or pass_credentials else None
        download(self._http, url, archive, what="the chart archive", max_bytes=MAX_ARCHIVE_BYTES, auth=auth)

    @staticmethod
    def _ensure(path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        self._http.close()


def _oci_reference(repo_url: str, chart: str) -> str:
    return f"{repo_url.rstrip('/')}/{chart}"


def _shown(url: str) -> str:
    """A URL without any user:password written into it."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        return parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else "")).geturl()
    return url


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
