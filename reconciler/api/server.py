"""The HTTP server: Git webhooks, the REST API, Prometheus metrics and health probes on one port.

    create_app(settings=None, services=None) -> FastAPI   the ASGI application
    serve(port, host="0.0.0.0")                           run it with uvicorn (`reconciler api`, `reconciler up`)

Routes (OpenAPI document at /openapi.json, browsable at /docs):
- `POST /api/webhook`                        reconciler/api/webhook (its own signatures)
- `/api/v1/applications...`                  reconciler/api/applications.py, app_views.py (tree, resource,
                                              events, logs, actions)
- `/api/v1/stream/applications[/{name}]`     reconciler/api/streams.py (server-sent events)
- `/api/v1/previews[/{id}]`                 reconciler/api/previews.py (pull-request previews)
- `/api/v1/projects...` (role tokens)        reconciler/api/access/project_routes.py
- `/auth/...`, `/api/v1/session[s]`          reconciler/api/access/auth_routes.py (single sign-on, sessions)
- `GET /healthz`, `/readyz`, `/metrics`      reconciler/api/ops.py
Every REST and dashboard route declares what it needs (reconciler/api/access/permits.py), decided
by Argo CD's RBAC (RECONCILER_RBAC_FILE); changes and refusals go to the audit log.

Configuration comes from Settings (the environment): RECONCILER_WEBHOOK_<PROVIDER>_SECRET,
RECONCILER_WEBHOOK_ALLOW_UNSIGNED, RECONCILER_WEBHOOK_MAX_BYTES, RECONCILER_WEBHOOK_RATE_LIMIT,
RECONCILER_API_TOKENS, RECONCILER_API_TOKENS_FILE, RECONCILER_API_AUTH, RECONCILER_METRICS_AUTH.
Work is handed to the Celery workers of workers/celery_app.py, configured from the same
environment; the API never syncs, polls or renders in its own process: `diff?refresh=true`,
dry-run syncs and cascade deletes are answered by a worker within a deadline
(reconciler/api/applications.py), so no repository's content ever runs in the API.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from reconciler import logs
from reconciler.api.access.audit import AuditLog, AuditMiddleware
from reconciler.api.access.auth_routes import auth_router
from reconciler.api.access.project_routes import project_router
from reconciler.api.app_views import views_router
from reconciler.api.applications import apps_router
from reconciler.api.applicationsets import appsets_router
from reconciler.api.auth import rest_caller
from reconciler.api.context import ApiContext
from reconciler.api.dashboard import make_router as dashboard_router
from reconciler.api.errors import error_response, install_error_handlers
from reconciler.api.models import ErrorBody
from reconciler.api.ops import ops_router
from reconciler.api.previews import previews_router
from reconciler.api.request_guard import RequestGuard
from reconciler.api.streams import stream_router
from reconciler.api.webhook.router import webhook_router
from reconciler.control.access.policy import PolicyError
from reconciler.control.catalog import UnknownApplication
from reconciler.services import Services
from reconciler.settings import Settings

log = logging.getLogger("reconciler.api.server")

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def _warm_rows(ctx: ApiContext) -> None:
    try:
        ctx.app_rows()
    except Exception as exc:  # Redis down at start, for instance: the first list builds the index
        log.info("the list's row index was not built at start (%s); the first list builds it", exc)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The ASGI application. `services` (e.g. a test's) is used as given and not closed;
    without it the clients are built from `settings` on the first request that needs them."""
    settings = settings or (services.settings if services is not None else Settings.from_env())
    ctx = ApiContext(settings, services)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The list's row index is built in the background at start (seconds at 10,000 apps), so
        # the first page a user asks for does not wait for it; a Redis that is not up yet only
        # means the first list builds it.
        threading.Thread(target=_warm_rows, args=(ctx,), daemon=True, name="app-rows-warmup").start()
        yield
        hub = getattr(_app.state, "app_event_hub", None)
        if hub is not None:  # the stream reader of api/streams.py
            hub.stop()
        ctx.close()

    app = FastAPI(
        title="reconciler",
        summary="GitOps reconciler for Kubernetes: Argo CD Application manifests on Celery and Redis",
        version="1",
        lifespan=lifespan,
    )
    app.state.context = ctx
    # Authentication off: answer only requests addressed to a loopback name (DNS rebinding).
    app.add_middleware(RequestGuard, loopback_only=settings.api_auth == "none" and not settings.api_tokens)
    # Outermost: the guard's refusals are in the audit log too.
    app.add_middleware(AuditMiddleware, audit_log=AuditLog(settings.audit_log), store_of=lambda: ctx.services().store)
    install_error_handlers(app)

    @app.exception_handler(UnknownApplication)
    async def unknown_application(request: Request, exc: UnknownApplication) -> JSONResponse:
        return error_response(404, str(exc))

    @app.exception_handler(redis.RedisError)
    async def redis_down(request: Request, exc: redis.RedisError) -> JSONResponse:
        log.warning("redis error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return error_response(
            503, f"{request.method} {request.url.path}: the state store (Redis) failed: {type(exc).__name__}; "
            "check REDIS_URL and that Redis is running"
        )

    app.include_router(webhook_router())
    app.include_router(apps_router())
    app.include_router(views_router())
    app.include_router(stream_router())
    app.include_router(appsets_router())
    app.include_router(previews_router())
    app.include_router(project_router())
    app.include_router(auth_router())
    app.include_router(ops_router())
    app.include_router(dashboard_router(ctx.services, rest_caller, sso_enabled=ctx.oidc is not None))
    _document_invalid_requests_as_400(app)
    return app


def _document_invalid_requests_as_400(app: FastAPI) -> None:
    """FastAPI documents request validation failures as 422; this API answers them 400 in its
    own error shape (reconciler/api_errors.py), so the document says that instead."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {})["ErrorBody"] = ErrorBody.model_json_schema()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    responses = operation.get("responses", {})
                    if responses.get("422", {}).get("description") == "Validation Error":
                        del responses["422"]
                        responses.setdefault(
                            "400",
                            {
                                "description": "invalid request; each problem listed",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                            },
                        )
            schema["components"]["schemas"].pop("HTTPValidationError", None)
            schema["components"]["schemas"].pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def open_api_problem(settings: Settings, host: str) -> str:
    """Why the API may not listen on `host` as configured ("" when it may): with no token
    (auth none) it serves only on a loopback address."""
    if settings.api_auth == "none" and not settings.api_tokens and not is_loopback(host):
        return (
            f"refusing to serve the API without authentication on {host}, which other machines can reach: "
            "set RECONCILER_API_TOKENS=admin:<token> (or RECONCILER_API_TOKENS_FILE), or listen on 127.0.0.1"
        )
    return ""


def serve(port: int, host: str = "0.0.0.0", settings: Settings | None = None) -> None:
    """Run the API with uvicorn until interrupted. X-Forwarded-For / X-Forwarded-Proto are
    trusted only from the addresses in RECONCILER_TRUSTED_PROXIES (none when unset): any other
    client could set them to dodge the webhook rate limit or pose as another address."""
    import uvicorn

    settings = settings or Settings.from_env()
    problem = open_api_problem(settings, host)
    if problem:
        raise SystemExit(f"reconciler api: {problem}")
    logs.configure("INFO", settings.log_format)
    try:
        app = create_app(settings)
    except (PolicyError, ValueError) as exc:  # the RBAC policy or the token signing key cannot be used
        raise SystemExit(f"reconciler api: not starting: {exc}") from None
    trusted = [str(network) for network in settings.trusted_proxies]
    # log_config=None: uvicorn's loggers go through reconciler.logs like every other process.
    # forwarded_allow_ips given explicitly: uvicorn would otherwise read FORWARDED_ALLOW_IPS or trust 127.0.0.1.
    uvicorn.run(
        app, host=host, port=port, log_level="info", log_config=None,
        proxy_headers=bool(trusted), forwarded_allow_ips=trusted or [],
    )  # fmt: skip
