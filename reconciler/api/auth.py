"""Who may call the REST API: bearer tokens from configuration, each with a role.

- `admin` tokens may do everything; `readonly` tokens may only read (GET, HEAD).
- With no token configured the REST API answers 401 to everyone (fail closed) unless the
  operator set RECONCILER_API_AUTH=none, which opens it; `reconciler up` on a single
  machine may set that for an API bound to 127.0.0.1.
- The webhook checks its own signatures; /healthz and /readyz are always open; /metrics
  is open unless RECONCILER_METRICS_AUTH=true, then any valid token may read it.

Tokens are compared as SHA-256 digests with hmac.compare_digest against every configured
token, so neither a token's length nor how much of it matched shows in the timing.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reconciler.api.context import ApiContext
from reconciler.api.errors import ApiError
from reconciler.settings import Settings

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="reconciler"'}

bearer = HTTPBearer(auto_error=False, description="A token from RECONCILER_API_TOKENS (role:token).")


@dataclass(frozen=True)
class Caller:
    role: str  # "admin", "readonly", or "anonymous" when authentication is off


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def role_of(settings: Settings, token: str) -> str | None:
    """The role of `token`, or None when it is not a configured token."""
    given = _digest(token)
    found: str | None = None
    for role, configured in settings.api_tokens:
        # No early exit: every configured token is compared whatever matched first.
        if hmac.compare_digest(given, _digest(configured)) and found is None:
            found = role
    return found


def authenticate(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    if not settings.api_tokens:
        if settings.api_auth == "none":
            return Caller("anonymous")
        raise ApiError(
            401,
            "the REST API has no tokens configured, so every call is refused: set RECONCILER_API_TOKENS "
            "(e.g. admin:<token>,readonly:<token>) or RECONCILER_API_TOKENS_FILE, "
            "or set RECONCILER_API_AUTH=none to leave the API open (single machine only)",
            headers=_CHALLENGE,
        )
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "missing bearer token: send the header `Authorization: Bearer <token>`", headers=_CHALLENGE)
    role = role_of(settings, credentials.credentials)
    if role is None:
        raise ApiError(
            401, "the bearer token is not valid: use a token listed in RECONCILER_API_TOKENS", headers=_CHALLENGE
        )
    return Caller(role)


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.context
    return ctx


def rest_caller(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008 (FastAPI's idiom)
) -> Caller:
    """Dependency of every REST route: read-only tokens may read, admin tokens may do anything."""
    caller = authenticate(context(request).settings, credentials)
    if request.method not in READ_METHODS and caller.role == "readonly":
        raise ApiError(
            403,
            f"{request.method} {request.url.path} changes the system and needs an admin token; "
            "this token is read-only",
        )
    return caller


def metrics_caller(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
) -> Caller | None:
    settings = context(request).settings
    if not settings.metrics_auth:
        return None
    if not settings.api_tokens:
        raise ApiError(
            401,
            "RECONCILER_METRICS_AUTH=true protects /metrics with API tokens, but none are configured: "
            "set RECONCILER_API_TOKENS",
        )
    return authenticate(settings, credentials)
