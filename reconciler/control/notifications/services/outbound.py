"""The one way a notification leaves this system over HTTP (and the address check SMTP uses).

Every service module sends through `http_request`, on the shared outbound guard
(reconciler/core/outbound): loopback, private, link-local and metadata addresses are refused
at connect time, after resolution, unless RECONCILER_ALLOWED_PRIVATE_HOSTS allows the host.
Redirects are not followed (a public host must not bounce a request inward).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from reconciler.control.notifications.services.base import DeliveryError
from reconciler.core.outbound import OutboundPolicy, OutboundRefused, guarded_client

TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_TEXT = 300


@dataclass(frozen=True)
class Response:
    status: int
    text: str


def guard_destination(host: str, port: int, policy: OutboundPolicy) -> None:
    """Refuse a host that resolves to no address the policy permits; DeliveryError."""
    try:
        policy.addresses(host, port)
    except OutboundRefused as exc:
        raise DeliveryError(str(exc), retryable=False) from None
    except OSError as exc:
        raise DeliveryError(f"cannot resolve {host}: {exc.strerror or exc}") from None


def http_request(
    method: str,
    url: str,
    *,
    policy: OutboundPolicy,
    headers: Mapping[str, str] | None = None,
    body: bytes | str | None = None,
    auth: tuple[str, str] | None = None,
    verify: bool = True,
) -> Response:
    """Send one request; a connection failure, 429 or 5xx is a retryable DeliveryError, any other
    status from 300 up a final one. Error texts hold no URL query or credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"{_shown(url)} is not an http(s) URL", retryable=False)
    try:
        with guarded_client(policy, timeout=TIMEOUT_SECONDS, verify=verify) as client:
            answer = client.request(
                method, url, headers=dict(headers or {}), content=body, auth=auth, follow_redirects=False
            )
    except OutboundRefused as exc:
        raise DeliveryError(str(exc), retryable=False) from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{method} {_shown(url)} failed: {type(exc).__name__}") from None
    response = Response(answer.status_code, answer.text[:MAX_RESPONSE_TEXT])
    if answer.status_code >= 300:
        retryable = answer.status_code == 429 or answer.status_code >= 500
        raise DeliveryError(
            f"{method} {_shown(url)} answered {answer.status_code}: {response.text.strip()}", retryable=retryable
        )
    return response


def _shown(url: str) -> str:
    """The URL as errors show it: scheme, host and path (tokens live in queries and user info)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
