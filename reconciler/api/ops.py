"""Operational endpoints: liveness, readiness, Prometheus metrics.

`/healthz` touches nothing (a busy Redis must not get the API restarted); `/readyz` checks
Redis and the Celery broker, so a load balancer stops sending webhooks that could not be
queued; `/metrics` reads every counter from Redis, so any replica reports the whole system.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from reconciler.api.auth import context, metrics_caller
from reconciler.api.errors import ApiError, error_response
from reconciler.api.models import ErrorBody
from reconciler.core.urls import redact_url

REDIS_SETTINGS = "REDIS_URL or RECONCILER_REDIS_SENTINELS"
# The probe answers within the chart's readiness timeout (5 s, with the broker's 2 s check):
# the store's client rides a failover for about 12 s, which a probe must not wait out.
PING_TIMEOUT_SECONDS = 2.0


def _redis_answers(ping: Callable[[], bool]) -> bool:
    """`ping()`, or False when it has not answered within PING_TIMEOUT_SECONDS (it then ends in
    a daemon thread: nothing waits for it, not even the process's exit)."""
    answer: list[bool] = []
    thread = threading.Thread(target=lambda: answer.append(ping()), daemon=True, name="readyz-ping")
    thread.start()
    thread.join(PING_TIMEOUT_SECONDS)
    return bool(answer and answer[0])


def ops_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: Redis and the Celery broker are reachable",
        responses={503: {"model": ErrorBody, "description": "what is down"}},
    )
    def readyz(request: Request) -> JSONResponse:
        ctx = context(request)
        problems = []
        try:
            store = ctx.services().store
            if not _redis_answers(store.ping):
                problems.append(f"Redis {_redis_url(store)} does not answer PING within {PING_TIMEOUT_SECONDS:g} s: "
                                f"check {REDIS_SETTINGS}")
        except Exception as exc:  # building the clients failed: report it, do not crash the probe
            problems.append(f"Redis is not reachable: {type(exc).__name__}: check {REDIS_SETTINGS}")
        broker = ctx.broker_problem()
        if broker:
            problems.append(broker + f": check {REDIS_SETTINGS} (the broker)")
        if problems:
            return error_response(503, "not ready: " + "; ".join(problems), problems)
        return JSONResponse({"status": "ready", "redis": "ok", "broker": "ok"})

    @router.get(
        "/metrics",
        summary="Prometheus metrics of the whole system",
        dependencies=[Depends(metrics_caller)],
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}, 503: {"model": ErrorBody}},
    )
    def metrics(request: Request) -> Response:
        try:
            from reconciler.metrics import render
        except ImportError as exc:
            raise ApiError(503, f"GET /metrics: the module reconciler.metrics cannot be imported: {exc}") from None
        ctx = context(request)
        body, content_type = render(ctx.services().store)
        return Response(content=body + _process_metrics(ctx.webhooks_unavailable), media_type=content_type)

    return router


def _process_metrics(webhooks_unavailable: int) -> bytes:
    """Counters this API process keeps itself, because they count the times Redis was down."""
    return (
        "# HELP reconciler_webhook_unavailable_total Webhooks answered 503 by this API process: Redis stayed "
        "unreachable past RECONCILER_WEBHOOK_HOLD_SECONDS.\n"
        "# TYPE reconciler_webhook_unavailable_total counter\n"
        f"reconciler_webhook_unavailable_total {webhooks_unavailable}\n"
    ).encode()


def _redis_url(store: object) -> str:
    pool = getattr(getattr(store, "r", None), "connection_pool", None)
    if getattr(pool, "service_name", None):  # a Sentinel-managed pool: the master's name
        return f"(Sentinel master {pool.service_name!r})"  # type: ignore[union-attr]
    kwargs = getattr(pool, "connection_kwargs", {})
    host, port = kwargs.get("host", "?"), kwargs.get("port", "?")
    return redact_url(f"redis://{host}:{port}/{kwargs.get('db', 0)}")
