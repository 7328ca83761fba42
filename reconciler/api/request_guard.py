"""Refuse cross-site requests before any route runs.

A browser lets any web page send a "simple" request (a form post, `fetch` with
`Content-Type: text/plain`) to any address, the operator's loopback API included, with no
CORS check. With authentication off (`reconciler up` on 127.0.0.1) such a page could register
apps. Two rules stop it, for every route but the webhook (signed, and sent by Git servers
with their own content types):
- a request whose `Origin` header is not this API's own (scheme-less host:port of the
  request's Host) is refused with 403: browsers send Origin on every cross-site write, while
  the CLI, curl and Git servers send none, so they are unaffected;
- a write (POST, PUT, PATCH, DELETE) that carries a body must say it is JSON or YAML
  (`application/json`, `application/yaml`); anything else is refused with 415, so even a
  browser that sent no Origin could not make a body the API reads;
- with authentication off (`loopback_only`), a request must name a loopback host
  (`127.0.0.1`, `localhost`, `[::1]`) in its Host header: a page on a domain an attacker
  re-points at 127.0.0.1 (DNS rebinding) is same-origin by name, and is refused by this.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler.api.errors import error_response

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_TYPES = frozenset({"application/json", "application/yaml", "application/x-yaml"})
EXEMPT_PATHS = ("/api/webhook",)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _origin_is_own(origin: str, host: str | None) -> bool:
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc or host is None:
        return False  # "null" (sandboxed frames, file:// pages) and anything malformed
    default = "443" if parts.scheme == "https" else "80"
    own = host.lower() if ":" in host.rsplit("]", 1)[-1] else f"{host.lower()}:{default}"
    theirs = parts.netloc.lower() if parts.port else f"{parts.netloc.lower()}:{default}"
    return own == theirs


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class RequestGuard:
    def __init__(self, app: ASGIApp, loopback_only: bool = False) -> None:
        self.app = app
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PATHS):
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host") or ""
        if self.loopback_only and _host_name(host) not in LOOPBACK_NAMES:
            response = error_response(
                403,
                f"Host {host!r} refused: with authentication off the API answers only requests addressed to "
                "127.0.0.1, localhost or [::1]; set RECONCILER_API_TOKENS to serve other names",
            )
            await response(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        if origin is not None and not _origin_is_own(origin, _header(scope, b"host")):
            response = error_response(
                403,
                f"cross-origin request refused: Origin {origin!r} is not this API's own address; "
                "call the API from its own dashboard, the CLI or a client that sends no Origin",
            )
            await response(scope, receive, send)
            return
        if scope["method"] in WRITE_METHODS and self._has_body(scope):
            media = (_header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()
            if media not in BODY_TYPES:
                response = error_response(
                    415,
                    f"{scope['method']} {scope['path']}: Content-Type {media or 'none'!r} is refused; "
                    "send the body as application/json or application/yaml",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _has_body(scope: Scope) -> bool:
        length = _header(scope, b"content-length")
        if _header(scope, b"transfer-encoding") is not None:
            return True
        return length is not None and length.strip() not in ("", "0")
