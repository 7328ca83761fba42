"""Charts in OCI registries (`oci://host/path/chart`), spoken to in the registry's HTTP API
(OCI distribution spec) through the outbound guard: tags, the manifest of a tag, the chart
layer. Authentication as Docker and Helm do it: basic credentials, or a bearer token from the
realm a 401 names (itself fetched through the guard). Registries on a loopback address are
spoken to over plain HTTP, as Docker and containerd do; every other one over HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from reconciler.core.outbound import FetchError, OutboundRefused, failure_text, read_limited
from reconciler.source.git.credentials import RepoCredentials
from reconciler.source.helm.http_repo import MAX_ARCHIVE_BYTES, basic_auth

MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_TAG_PAGES = 50
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True)
class OciReference:
    base: str  # http(s)://host[:port]
    host: str  # host[:port]
    path: str  # repository path inside the registry: org/charts/mychart

    @classmethod
    def of(cls, reference: str) -> OciReference:
        """`oci://host/path/chart` -> its API base and repository path."""
        parts = urlsplit(reference)
        hostname = (parts.hostname or "").lower()
        scheme = "http" if hostname in _LOOPBACK_HOSTS or hostname.endswith(".localhost") else "https"
        return cls(base=f"{scheme}://{parts.netloc}", host=parts.netloc, path=parts.path.strip("/"))


class OciClient:
    """One registry client per process: bearer tokens are kept by (host, scope) until they expire."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client
        self._tokens: dict[tuple[str, str], tuple[float, str]] = {}
        self._guard = threading.Lock()

    def tags(self, reference: str, creds: RepoCredentials | None) -> list[str]:
        """The chart's versions: its tags, with Helm's `_` for `+` turned back."""
        ref = OciReference.of(reference)
        url: str | None = f"{ref.base}/v2/{ref.path}/tags/list"
        found: list[str] = []
        for _ in range(MAX_TAG_PAGES):
            if url is None:
                break
            response = self._send("GET", url, ref, creds)
            body = _json(response, "the tag list")
            found.extend(str(tag).replace("_", "+") for tag in body.get("tags") or [])
            link = _NEXT_LINK.search(response.headers.get("link", ""))
            url = urljoin(ref.base, link.group(1)) if link else None
        return found

    def manifest(self, reference: str, tag: str, creds: RepoCredentials | None) -> tuple[str, dict[str, Any]]:
        """(hex sha256 digest, manifest) of the tag."""
        ref = OciReference.of(reference)
        response = self._send("GET", f"{ref.base}/v2/{ref.path}/manifests/{tag}", ref, creds,
                              headers={"Accept": MANIFEST_TYPES})  # fmt: skip
        if len(response.content) > MAX_MANIFEST_BYTES:
            raise FetchError("the manifest is too large")
        digest = hashlib.sha256(response.content).hexdigest()
        return digest, _json(response, "the manifest")

    def pull(self, reference: str, tag: str, creds: RepoCredentials | None, destination: Path) -> Path:
        """The chart archive of the tag, checked against its layer digest, as `destination`."""
        _, manifest = self.manifest(reference, tag, creds)
        layers = [layer for layer in manifest.get("layers") or [] if layer.get("mediaType") == CHART_LAYER]
        if len(layers) != 1:
            raise FetchError(f"the manifest of {tag} holds no Helm chart layer ({CHART_LAYER})")
        digest = str(layers[0].get("digest", ""))
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            raise FetchError("the chart layer has no sha256 digest")
        ref = OciReference.of(reference)
        response = self._send("GET", f"{ref.base}/v2/{ref.path}/blobs/{digest}", ref, creds, stream=True)
        hasher = hashlib.sha256()
        try:
            with destination.open("wb") as out:
                for chunk in read_limited(response, MAX_ARCHIVE_BYTES, "the chart archive"):
                    hasher.update(chunk)
                    out.write(chunk)
        except httpx.HTTPError as exc:
            raise FetchError(failure_text(exc)) from None
        finally:
            response.close()
        if f"sha256:{hasher.hexdigest()}" != digest:
            raise FetchError("the chart archive does not match the digest its manifest gives")
        return destination

    # -- requests and authentication --------------------------------------------------

    def _send(
        self, method: str, url: str, ref: OciReference, creds: RepoCredentials | None,
        headers: dict[str, str] | None = None, stream: bool = False,
    ) -> httpx.Response:  # fmt: skip
        scope = f"repository:{ref.path}:pull"
        try:
            response = self._request(method, url, {**(headers or {}), **self._cached(ref.host, scope)}, stream)
            if response.status_code == 401:
                challenge = response.headers.get("www-authenticate", "")
                response.close()
                authorization = self._authorize(ref.host, scope, challenge, creds)
                if authorization:
                    response = self._request(method, url, {**(headers or {}), **authorization}, stream)
        except (OutboundRefused, FetchError):
            raise
        except httpx.HTTPError as exc:
            raise FetchError(failure_text(exc)) from None
        if response.status_code != 200:
            response.close()
            raise FetchError(failure_text(response))
        return response

    def _request(self, method: str, url: str, headers: dict[str, str], stream: bool) -> httpx.Response:
        return self._client.send(self._client.build_request(method, url, headers=headers), stream=stream)

    def _cached(self, host: str, scope: str) -> dict[str, str]:
        with self._guard:
            entry = self._tokens.get((host, scope))
        if entry is None or entry[0] < time.monotonic():
            return {}
        return {"Authorization": f"Bearer {entry[1]}"}

    def _authorize(
        self, host: str, scope: str, challenge: str, creds: RepoCredentials | None
    ) -> dict[str, str]:
        """The Authorization header a 401's challenge asks for ({} when we have nothing to give)."""
        kind = challenge.split(" ", 1)[0].lower()
        if kind == "basic":
            if creds is None or not (creds.username or creds.password):
                return {}
            pair = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        if kind != "bearer":
            return {}
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        realm = params.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise FetchError("the registry's authentication challenge names no token service")
        query = {"service": params.get("service", ""), "scope": params.get("scope", scope)}
        try:
            response = self._client.get(realm, params=query, auth=basic_auth(creds))
        except httpx.HTTPError as exc:
            raise FetchError(f"its token service: {failure_text(exc)}") from None
        if response.status_code != 200:
            raise FetchError(f"its token service: {failure_text(response)}")
        body = _json(response, "the token service's answer")
        token = str(body.get("token") or body.get("access_token") or "")
        if not token:
            raise FetchError("the registry's token service gave no token")
        expires = time.monotonic() + max(float(body.get("expires_in") or 60) - 10, 10)
        with self._guard:
            self._tokens[(host, scope)] = (expires, token)
        return {"Authorization": f"Bearer {token}"}


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        value = json.loads(response.read())
    except (ValueError, httpx.HTTPError):
        raise FetchError(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise FetchError(f"{what} is not a JSON object")
    return value
