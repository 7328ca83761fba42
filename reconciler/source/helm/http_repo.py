"""Helm chart repositories over HTTP(S): `index.yaml` and chart archives, fetched through the
outbound guard (reconciler.core.outbound) and read in the render sandbox.

The index is input from the repository's server: it is downloaded here (size-capped) and
parsed in a sandbox process (helm_engine.read_index), so an index that is a YAML bomb stops
that process, not the worker. Errors carry a status code and our words, never the server's.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from reconciler.core.outbound import FetchError, OutboundRefused, failure_text, read_limited
from reconciler.source.git.credentials import RepoCredentials

MAX_INDEX_BYTES = 128 * 1024 * 1024
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024


def basic_auth(creds: RepoCredentials | None) -> httpx.BasicAuth | None:
    if creds is None or not (creds.username or creds.password):
        return None
    return httpx.BasicAuth(creds.username, creds.password)


def download(
    client: httpx.Client, url: str, destination: Path, *, what: str, max_bytes: int,
    auth: httpx.Auth | None = None, headers: dict[str, str] | None = None,
) -> None:  # fmt: skip
    """`url` into the file `destination`; FetchError (our words) when it cannot be had."""
    try:
        with client.stream("GET", url, auth=auth, headers=headers) as response:
            if response.status_code != 200:
                raise FetchError(failure_text(response))
            with destination.open("wb") as out:
                for chunk in read_limited(response, max_bytes, what):
                    out.write(chunk)
    except (OutboundRefused, FetchError):
        raise
    except httpx.HTTPError as exc:
        raise FetchError(failure_text(exc)) from None


def fetch_index(client: httpx.Client, repo_url: str, creds: RepoCredentials | None, destination: Path) -> None:
    """The repository's index.yaml into `destination`."""
    url = repo_url.rstrip("/") + "/index.yaml"
    download(client, url, destination, what="the repository's index.yaml", max_bytes=MAX_INDEX_BYTES,
             auth=basic_auth(creds))  # fmt: skip
