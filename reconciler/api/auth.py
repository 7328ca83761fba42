"""Who may call the REST API, and the dependency every REST and dashboard route starts with.

- A caller shows a static token (RECONCILER_API_TOKENS), a login session (single sign-on, as a
  bearer token or the dashboard's cookie) or a project role token (reconciler/api/access/identity.py).
- What each caller may do is decided by the route's permit (reconciler/api/access/permits.py)
  with Argo CD's RBAC (reconciler/api/access/control.py): without a policy file, `admin` tokens
  may do everything and `readonly` tokens may only read, as before policies existed.
- With no way to authenticate configured the REST API answers 401 to everyone (fail closed)
  unless the operator set RECONCILER_API_AUTH=none, which opens it; `reconciler up` on a single
  machine may set that for an API bound to 127.0.0.1.
- The webhook checks its own signatures; /healthz and /readyz are always open; /metrics
  is open unless RECONCILER_METRICS_AUTH=true, then any valid caller may read it.
"""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reconciler.api.access.identity import SESSION_COOKIE, Caller, authenticate, static_token
from reconciler.api.context import ApiContext
from reconciler.api.errors import ApiError
from reconciler.settings import Settings

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(
    auto_error=False,
    description="A token of RECONCILER_API_TOKENS, a login session (`reconciler login --sso`) or a project role token.",
)

__all__ = ["Caller", "authenticate_request", "context", "metrics_caller", "rest_caller", "role_of",
           "still_authenticated"]


def role_of(settings: Settings, token: str) -> str | None:
    """The role of a static token, or None when it is not a configured token."""
    found = static_token(settings, token)
    return found[0] if found else None


def client_address(request: Request) -> str:
    """The caller's address, as the rate limits count it. Behind a proxy listed in
    RECONCILER_TRUSTED_PROXIES, uvicorn sets it from the X-Forwarded-For header (api/server.py)."""
    return request.client.host if request.client else "unknown"


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.context
    return ctx


def authenticate_request(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    """The caller of `request`: its bearer token, else the dashboard's session cookie."""
    ctx = context(request)
    token = credentials.credentials if credentials is not None and credentials.credentials else None
    token = token or request.cookies.get(SESSION_COOKIE) or None
    caller = authenticate(ctx.settings, ctx.services().store, token, ctx.access.configured)
    request.state.caller = caller
    return caller


def still_authenticated(request: Request) -> bool:
    """Whether the credentials `request` came with still authenticate (a long-lived stream asks
    from time to time: a session that expired or was revoked, or a project token deleted,
    ends it)."""
    ctx = context(request)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" and value.strip() else None
    token = token or request.cookies.get(SESSION_COOKIE) or None
    try:
        authenticate(ctx.settings, ctx.services().store, token, ctx.access.configured)
    except ApiError:
        return False
    return True


def rest_caller(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008 (FastAPI's idiom)
) -> Caller:
    """Dependency of every REST and dashboard route: who calls. A route that declares no permit
    of its own gets the conservative check of permits.fallback."""
    from reconciler.api.access.permits import declares_permit, fallback

    caller = authenticate_request(request, credentials)
    if not declares_permit(request.scope.get("route")):
        fallback(request, caller)
    return caller


def metrics_caller(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
) -> Caller | None:
    settings = context(request).settings
    if not settings.metrics_auth:
        return None
    if not settings.api_tokens and settings.oidc is None:
        raise ApiError(
            401,
            "RECONCILER_METRICS_AUTH=true protects /metrics with API tokens, but none are configured: "
            "set RECONCILER_API_TOKENS",
        )
    return authenticate_request(request, credentials)
