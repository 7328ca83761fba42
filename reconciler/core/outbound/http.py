"""HTTP(S) through the outbound policy: every connection (redirects included) is made by
`OutboundPolicy.connect`, so a URL, a redirect or a DNS answer pointing at a refused address
fails at connect time; and what goes wrong is told in our words.

A peer's answer is never quoted: a repository URL may point at any service, and an error
that echoes its first bytes (a Redis banner, an internal page) would show them to whoever
can read the app's conditions. `failure_text` reduces an error to a status code and its
standard reason phrase, or to a fixed description of a connection failure.
"""

from __future__ import annotations

import http
import ssl
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx

from reconciler.core.errors import TransientError
from reconciler.core.outbound.policy import OutboundPolicy, OutboundRefused

DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_REDIRECTS = 5


class FetchError(TransientError):
    """A fetch that failed; the message is ours (see failure_text)."""


class _CheckedBackend(httpcore.SyncBackend):
    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:  # fmt: skip
        try:
            sock = self._policy.connect(host, port, timeout)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from None
        except OutboundRefused:
            raise
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from None
        for option in socket_options or ():
            sock.setsockopt(*option)
        return httpcore._backends.sync.SyncStream(sock)


class _CheckedTransport(httpx.HTTPTransport):
    def __init__(self, policy: OutboundPolicy, verify: bool = True) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            network_backend=_CheckedBackend(policy),
            max_connections=20,
            keepalive_expiry=5.0,
        )


def guarded_client(
    policy: OutboundPolicy, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, headers: dict[str, str] | None = None,
    verify: bool = True,
) -> httpx.Client:
    """An httpx.Client whose connections go to checked addresses only. It follows up to
    MAX_REDIRECTS redirects (each new connection checked) and ignores proxy variables: a
    proxy would make the connection, and its checks would not be ours. `verify=False` (a
    service's own insecure-skip-verify option) accepts any TLS certificate."""
    return httpx.Client(
        transport=_CheckedTransport(policy, verify),
        timeout=timeout,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        trust_env=False,
        headers=headers,
    )


def status_text(code: int) -> str:
    try:
        return f"HTTP {code} ({http.HTTPStatus(code).phrase})"
    except ValueError:
        return f"HTTP {code}"


def failure_text(failure: BaseException | httpx.Response) -> str:
    """What went wrong, in words of ours: never the peer's bytes."""
    if isinstance(failure, httpx.Response):
        return status_text(failure.status_code)
    if isinstance(failure, OutboundRefused):
        return str(failure)
    if isinstance(failure, FetchError):
        return str(failure)
    if isinstance(failure, httpx.TooManyRedirects):
        return f"more than {MAX_REDIRECTS} redirects"
    if isinstance(failure, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(failure, httpx.ConnectError):
        cause = str(failure).lower()
        if "name or service not known" in cause or "nodename nor servname" in cause or "resolution" in cause:
            return "the host name does not resolve"
        if isinstance(failure.__cause__, ssl.SSLError) or "ssl" in cause or "certificate" in cause:
            return "the TLS handshake failed (certificate or protocol)"
        if "refused" in cause:
            return "the connection was refused"
        return "the connection failed"
    if isinstance(failure, httpx.RemoteProtocolError | httpx.DecodingError):
        return "the server did not answer in HTTP"
    if isinstance(failure, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return "the URL is not an http:// or https:// URL"
    if isinstance(failure, httpx.HTTPError):
        return "the request failed"
    return f"the request failed ({type(failure).__name__})"


def read_limited(response: httpx.Response, max_bytes: int, what: str) -> Iterator[bytes]:
    """The body of a streamed `response` in chunks, refused (FetchError) past `max_bytes`."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{what} is larger than {max_bytes} bytes; refused")
    received = 0
    for chunk in response.iter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise FetchError(f"{what} is larger than {max_bytes} bytes; refused")
        yield chunk
