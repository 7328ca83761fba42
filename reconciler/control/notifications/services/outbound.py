"""The one way a notification leaves this system over HTTP (and the host check SMTP uses too).

Every service module sends through `http_request`, so one guard decides where notifications
may go: `guard_destination` refuses loopback, private, link-local and other non-public
addresses unless RECONCILER_ALLOWED_PRIVATE_HOSTS allows the host (`host`, `host:port` or a
CIDR). Redirects are not followed (a public host must not bounce a request inward).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from reconciler.control.notifications.services.base import DeliveryError

TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_TEXT = 300


@dataclass(frozen=True)
class Response:
    status: int
    text: str


def guard_destination(host: str, port: int, allowed_private: tuple[str, ...]) -> None:
    """Refuse a host that resolves to a non-public address unless allowed; DeliveryError."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise DeliveryError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address.is_global or _allowed(host, port, address, allowed_private):
            continue
        raise DeliveryError(
            f"refusing to send to {host}:{port}: it resolves to the non-public address {address}; "
            "allow it with RECONCILER_ALLOWED_PRIVATE_HOSTS if it is meant",
            retryable=False,
        )


def _allowed(
    host: str, port: int, address: ipaddress.IPv4Address | ipaddress.IPv6Address, allowed: tuple[str, ...]
) -> bool:
    for entry in allowed:
        if entry in (host, f"{host}:{port}", str(address), f"{address}:{port}"):
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def http_request(
    method: str,
    url: str,
    *,
    allowed_private: tuple[str, ...],
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
    guard_destination(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), allowed_private)
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, verify=verify, follow_redirects=False, trust_env=False) as client:
            answer = client.request(method, url, headers=dict(headers or {}), content=body, auth=auth)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{method} {_shown(url)} failed: {type(exc).__name__}: {exc}") from None
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
