"""Every HTTP request the SCM generators make goes through `get_json`, so one place decides
which hosts may be reached (the shared outbound guard: no loopback, private or metadata
address unless RECONCILER_ALLOWED_PRIVATE_HOSTS allows it, checked at connect time), how long
a request may take, and that errors never carry a token nor the peer's bytes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from reconciler.core.errors import TransientError
from reconciler.core.outbound import OutboundPolicy, OutboundRefused, failure_text, guarded_client

TIMEOUT_SECONDS = 30.0
MAX_BODY_BYTES = 20 * 1024 * 1024
OUTBOUND = OutboundPolicy()


class ScmError(TransientError):
    """The hosting API refused or failed; the message names the URL (no credentials) and why."""


def get_json(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    verify: bool = True,
    not_found_ok: bool = False,
) -> tuple[Any, Mapping[str, str]]:
    """The JSON body and headers of a GET; (None, headers) for a 404 when `not_found_ok`."""
    shown = url.split("?", 1)[0]
    try:
        with guarded_client(OUTBOUND, timeout=TIMEOUT_SECONDS, verify=verify) as client:
            # No params at all for a URL that carries its own query (a Link header's next page).
            response = client.get(
                url, headers=dict(headers or {}), params=dict(params) if params else None, follow_redirects=False
            )
    except OutboundRefused as exc:
        raise ScmError(f"GET {shown}: {exc}") from None
    except httpx.HTTPError as exc:
        raise ScmError(f"GET {shown}: {failure_text(exc)}") from None
    if response.status_code == 404 and not_found_ok:
        return None, response.headers
    if response.status_code >= 400:
        raise ScmError(f"GET {shown}: {failure_text(response)}")
    if len(response.content) > MAX_BODY_BYTES:
        raise ScmError(f"GET {shown}: the answer is larger than {MAX_BODY_BYTES} bytes")
    try:
        return response.json(), response.headers
    except ValueError:
        raise ScmError(f"GET {shown}: the answer is not JSON") from None
