"""`POST /api/webhook`: a Git push becomes a fresh poll of each application it concerns.

Order of checks, cheapest and least revealing first: rate limit per client address (429),
body size (413, from Content-Length before reading, then while reading), provider (400),
signature (401, or 403 when the provider has no secret configured: fail closed), payload
(400 malformed, 422 an event this system does not act on). A ping is answered 200 and
does nothing. A push is answered 202 with the apps queued before any of them is polled. A delivery
whose id was seen within the last hour (a replay, deliveries.py) is answered 200 with
`duplicate: true` and does nothing.

The poll is queued on the `urgent` queue with `fresh=True`, so the worker lists the
remote's refs at once instead of using the shared ref cache. While a webhook's poll of
an app waits in the queue, further pushes coalesce into it (it lists the refs when it
starts, so it sees them all); see Store.claim_webhook_poll.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

import redis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError
from starlette.concurrency import run_in_threadpool

from reconciler import telemetry
from reconciler.api.auth import client_address, context
from reconciler.api.context import ApiContext
from reconciler.api.errors import error_response, retry_after
from reconciler.api.models import ErrorBody, Ping, WebhookAccepted, WebhookDuplicate
from reconciler.api.webhook import PushEvent, WebhookError, check_size, detect_provider, matches, parse, verify
from reconciler.api.webhook.appsets import appsets_concerned, pull_request_repos, refresh_appsets
from reconciler.api.webhook.deliveries import REPLAY_WINDOW_SECONDS, delivery_id
from reconciler.api.webhook.pull_requests import parse_pull_request, preview_request
from reconciler.core.urls import repo_location
from reconciler.model import Application, SpecError, parse_application

log = logging.getLogger("reconciler.webhook")

# Redis (the state store) or the broker on it not answering: a failover in progress.
STATE_STORE_DOWN = (redis.RedisError, OperationalError)
MANIFEST_GENERATE_PATHS = "argocd.argoproj.io/manifest-generate-paths"
# A queued poll that never ran (its message lost) stops absorbing pushes after this long.
WEBHOOK_POLL_COALESCE_SECONDS = 30.0
RATE_WINDOW_SECONDS = 60

# WebhookError status -> the `result` label of reconciler_webhook_requests_total.
_RESULTS = {400: "malformed", 401: "refused-signature", 403: "refused-signature", 413: "too-large", 422: "unsupported"}


class ParsedApps:
    """Registered Applications parsed once per manifest version: a push is matched against
    every app, and parsing thousands of manifests per push would dominate its cost."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[dict, Application | None]] = {}

    def current(self, manifests: Mapping[str, dict]) -> dict[str, Application | None]:
        for gone in set(self._cache) - set(manifests):
            del self._cache[gone]
        parsed: dict[str, Application | None] = {}
        for name, manifest in manifests.items():
            cached = self._cache.get(name)
            if cached is None or cached[0] != manifest:
                try:
                    app: Application | None = parse_application(manifest, source_file=f"registered application {name}")
                except SpecError:
                    app = None  # an invalid app is not polled by a push; its poll reports the problem
                cached = (manifest, app)
                self._cache[name] = cached
            parsed[name] = cached[1]
        return parsed


def concerns(event: PushEvent, app: Application) -> bool:
    source = app.source
    return matches(
        event,
        repo_location(source.repo_url),
        source.target_revision,
        source.path,
        source.helm.value_files if source.helm else (),
        app.annotations.get(MANIFEST_GENERATE_PATHS, ""),
    )


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit():
        check_size(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        check_size(size, limit)  # a chunked body without Content-Length is capped while read
        chunks.append(chunk)
    return b"".join(chunks)


def webhook_router() -> APIRouter:
    router = APIRouter(tags=["webhook"])
    parsed_apps = ParsedApps()

    def rate_limited(ctx: ApiContext, source: str) -> float | None:
        """Seconds to wait when `source` is over its limit this minute, else None."""
        limit = ctx.settings.webhook_rate_limit
        if limit <= 0:
            return None
        count, remaining = ctx.services().store.count_webhook_request(source, RATE_WINDOW_SECONDS)
        return remaining if count > limit else None

    def handle(ctx: ApiContext, headers: Mapping[str, str], body: bytes) -> tuple[int, dict, str, str]:
        """(status, body, provider, telemetry result) for a delivery whose size is acceptable."""
        settings = ctx.settings
        provider = "unknown"
        try:
            provider = detect_provider(headers)
            verify(provider, headers, body, settings.webhook_secrets, settings.webhook_allow_unsigned)
        except WebhookError as exc:
            return exc.status, {"error": exc.message, "problems": []}, provider, _RESULTS.get(exc.status, "malformed")
        store = ctx.services().store
        # A delivery id seen before (checked only once the signature holds): acknowledged, not acted on.
        delivery = delivery_id(provider, headers)
        if delivery and not store.first_delivery(provider, delivery, REPLAY_WINDOW_SECONDS):
            body = {"duplicate": True, "provider": provider, "delivery": delivery, "queued": []}
            return 200, body, provider, "duplicate"
        try:
            return act(ctx, provider, headers, body)
        except Exception:
            if delivery:  # not handled: the provider's retry of it must be handled, not ignored
                store.forget_delivery(provider, delivery)
            raise

    def start_preview(ctx: ApiContext, provider: str, headers: Mapping[str, str], body: bytes) -> dict:
        """`{"preview": id}` when the event queues a pull-request preview, `{"previewSkipped": why}`
        when it is one that could but does not, else nothing."""
        try:
            event = parse_pull_request(provider, headers, body)
        except WebhookError as exc:  # enough for ApplicationSets' refresh, not for a preview: said so
            return {"previewSkipped": exc.message}
        if event is None:
            return {}
        store = ctx.services().store
        request, why = preview_request(event, parsed_apps.current(store.app_manifests()).values(),
                                       ctx.settings.preview.allow_forks)  # fmt: skip
        if request is None:
            log.info("pull request %s not previewed: %s", event.pull_request.key, why)
            return {"previewSkipped": why}
        return {"preview": ctx.enqueue_preview(request)}

    def act(ctx: ApiContext, provider: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict, str, str]:
        store = ctx.services().store
        try:
            pull_request = pull_request_repos(provider, headers, body)
            if pull_request is not None:  # ApplicationSets' pull-request generators, and a preview
                sets = refresh_appsets(store, appsets_concerned(store, pull_request, "pullRequest"))
                preview = start_preview(ctx, provider, headers, body)
                payload = {"queued": [], "ignored": 0, "applicationSets": sets, **preview}
                return 202, payload, provider, ("accepted" if sets or payload.get("preview") else "ignored")
            event = parse(provider, headers, body)
        except WebhookError as exc:
            return exc.status, {"error": exc.message, "problems": []}, provider, _RESULTS.get(exc.status, "malformed")
        if event.is_ping:
            return 200, {"ping": True, "provider": provider}, provider, "ping"
        apps = parsed_apps.current(store.app_manifests())
        queued = sorted(name for name, app in apps.items() if app is not None and concerns(event, app))
        now = time.time()
        for name in queued:
            if store.claim_webhook_poll(name, now, WEBHOOK_POLL_COALESCE_SECONDS):
                ctx.enqueue_fresh_poll(name)
        sets = refresh_appsets(store, appsets_concerned(store, list(event.repo_urls), "git"))
        result = "accepted" if queued or sets else "ignored"
        payload = {"queued": queued, "ignored": len(apps) - len(queued)}
        if sets:  # only when a push concerns ApplicationSets: the answer to others stays as it was
            payload["applicationSets"] = sets
        return 202, payload, provider, result

    @router.post(
        "/api/webhook",
        status_code=202,
        summary="Receive a Git provider's push webhook",
        response_model=WebhookAccepted,
        responses={
            200: {"model": Ping | WebhookDuplicate,
                  "description": "a ping, or a delivery already handled (a replay); nothing was done"},
            400: {"model": ErrorBody, "description": "unknown sender or malformed payload"},
            401: {"model": ErrorBody, "description": "missing or wrong signature"},
            403: {"model": ErrorBody, "description": "no secret configured for this provider"},
            413: {"model": ErrorBody, "description": "body larger than RECONCILER_WEBHOOK_MAX_BYTES"},
            422: {"model": ErrorBody, "description": "an event this system does not act on"},
            429: {"model": ErrorBody, "description": "too many requests from this address; see Retry-After"},
        },
    )
    async def receive(request: Request) -> JSONResponse:
        ctx = context(request)
        source = client_address(request)
        try:
            body: list[bytes] = []  # read once: a held webhook is tried again with the same body
            return await _held_through_failover(ctx, lambda: _deliver(ctx, request, source, body))
        except STATE_STORE_DOWN as exc:
            ctx.webhooks_unavailable += 1
            log.error("webhook answered 503: Redis unreachable for %ss (%s); the sender must redeliver it",
                      ctx.settings.webhook_hold_seconds, type(exc).__name__)
            held = ctx.settings.webhook_hold_seconds
            return error_response(
                503,
                f"POST /api/webhook: the state store (Redis) stayed unreachable for {held:.0f}s "
                f"({type(exc).__name__}); redeliver this webhook from the Git host, or check REDIS_URL / "
                "RECONCILER_REDIS_SENTINELS",
                headers={"Retry-After": "10"},
            )

    async def _deliver(ctx: ApiContext, request: Request, source: str, body: list[bytes]) -> JSONResponse:
        wait = None if body else await run_in_threadpool(rate_limited, ctx, source)
        if wait is not None:
            await run_in_threadpool(telemetry.record_webhook, ctx.services().store, "unknown", "rate-limited")
            limit = ctx.settings.webhook_rate_limit
            return error_response(
                429,
                f"more than {limit} webhook requests a minute from {source}: retry later, "
                "or raise RECONCILER_WEBHOOK_RATE_LIMIT",
                headers=retry_after(wait),
            )
        if not body:
            try:
                body.append(await _read_body(request, ctx.settings.webhook_max_bytes))
            except WebhookError as exc:
                await run_in_threadpool(telemetry.record_webhook, ctx.services().store, "unknown", "too-large")
                return error_response(exc.status, f"{exc.message} (RECONCILER_WEBHOOK_MAX_BYTES)")
        status, payload, provider, result = await run_in_threadpool(handle, ctx, request.headers, body[0])
        await run_in_threadpool(telemetry.record_webhook, ctx.services().store, provider, result)
        return JSONResponse(payload, status_code=status)

    return router


async def _held_through_failover(ctx: ApiContext, deliver: Callable[[], Awaitable[JSONResponse]]) -> JSONResponse:
    """Git hosts do not resend a webhook that failed, so one that arrives while Redis fails over
    is held and tried again (each try's Redis calls retry on their own, reconciler/state/
    connection.py) until `RECONCILER_WEBHOOK_HOLD_SECONDS` have passed; then the error stands."""
    deadline = time.monotonic() + ctx.settings.webhook_hold_seconds
    while True:
        try:
            return await deliver()
        except STATE_STORE_DOWN:
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.5)
