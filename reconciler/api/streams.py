"""Live updates by server-sent events (sse-starlette), instead of polling:

    GET /api/v1/stream/applications           every app the caller may `get`
    GET /api/v1/stream/applications/{name}    one app (`get` on it)

Each event: `id: <stream id>`, `event: status|operation|tree|deleted`, and
`data: {"type", "app", "summary": {...the list row...}}` (no summary for `deleted`). A client
that reconnects with `Last-Event-ID` gets what it missed first, while Redis still keeps it;
otherwise an `event: reload` says to fetch the list again. The stream ends with an
`event: unauthorized` once the credentials it was opened with stop authenticating (a session
expired or revoked, a project token deleted), checked every REAUTH_SECONDS.

One reader per API process (AppEventHub) reads the Redis stream `rc:app-events` with a blocking
XREAD (state/app_events.py), fetches the summaries of the apps a batch names in one round trip
(control/app_rows.py), and hands each event to the open streams that want it; each stream
checks the caller's `get` on the app (its answer kept per project). So 10,000 apps and many open
pages cost one Redis reader per replica, and a write reaches a page in about one round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import redis
from fastapi import APIRouter, Depends, Request
from sse_starlette.sse import EventSourceResponse

from reconciler.api.access.identity import Caller
from reconciler.api.access.permits import permit_app, permit_each
from reconciler.api.auth import context, rest_caller, still_authenticated
from reconciler.api.log_stream import REAUTH_SECONDS, UNAUTHENTICATED
from reconciler.control.app_rows import rows_of
from reconciler.core.urls import redact_urls_in
from reconciler.state import Store
from reconciler.state.app_events import AppEvent, valid_event_id

log = logging.getLogger("reconciler.api.streams")
READ_BLOCK_MS = 1000
SUBSCRIBER_QUEUE = 10_000
PING_SECONDS = 15


@dataclass(eq=False)
class Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]]
    app: str = ""  # "" for every app

    def offer(self, event: dict[str, Any]) -> None:
        if self.app and event["app"] != self.app:
            return
        with contextlib.suppress(RuntimeError):  # the stream's loop closed: it is going away
            self.loop.call_soon_threadsafe(self._put, event)

    def _put(self, event: dict[str, Any]) -> None:
        if self.queue.full():  # a client that does not read: it misses events, not the others
            self.queue.get_nowait()
        self.queue.put_nowait(event)


@dataclass
class AppEventHub:
    """The process's one reader of the app event stream, fanning events out to open streams."""

    store: Store
    subscribers: set[Subscriber] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None
    stopped: threading.Event = field(default_factory=threading.Event)

    def subscribe(self, subscriber: Subscriber) -> None:
        with self.lock:
            self.subscribers.add(subscriber)
            if self.thread is None or not self.thread.is_alive():
                start = self.store.last_app_event_id()
                self.thread = threading.Thread(target=self._read, args=(start,), daemon=True, name="app-event-hub")
                self.thread.start()

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self.lock:
            self.subscribers.discard(subscriber)

    def stop(self) -> None:
        self.stopped.set()

    def _read(self, after: str) -> None:
        while not self.stopped.is_set():
            with self.lock:
                if not self.subscribers:
                    self.thread = None
                    return
            try:
                batch = self.store.read_app_events(after, READ_BLOCK_MS)
            except redis.RedisError as exc:
                log.warning("app event stream: %s; reading again in 1 s", type(exc).__name__)
                self.stopped.wait(1.0)
                continue
            if not batch:
                continue
            after = batch[-1][0]
            events = build_events(self.store, batch)
            with self.lock:
                subscribers = list(self.subscribers)
            for event in events:
                for subscriber in subscribers:
                    subscriber.offer(event)


def build_events(store: Store, batch: list[AppEvent]) -> list[dict[str, Any]]:
    """Events of a batch: one per (app, type), the last id kept, with the apps' rows read once."""
    latest: dict[tuple[str, str], str] = {}
    for entry_id, kind, app in batch:
        latest.pop((app, kind), None)
        latest[(app, kind)] = entry_id
    rows = rows_of(store, {app for (app, kind) in latest if kind != "deleted"})
    events = []
    for (app, kind), entry_id in latest.items():
        event: dict[str, Any] = {"id": entry_id, "type": kind, "app": app}
        if kind != "deleted":
            if app not in rows:
                continue  # deleted since; its `deleted` entry follows
            event["summary"] = rows[app]
        events.append(event)
    return events


def _hub(request: Request) -> AppEventHub:
    state = request.app.state
    with _HUB_LOCK:
        hub = getattr(state, "app_event_hub", None)
        if hub is None:
            hub = state.app_event_hub = AppEventHub(context(request).services().store)
    return hub


_HUB_LOCK = threading.Lock()


def stream_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/stream", tags=["live updates"], dependencies=[Depends(rest_caller)])
    responses: dict[int | str, dict[str, Any]] = {200: {"content": {"text/event-stream": {}},
                                                        "description": "server-sent events"}}

    @router.get("/applications", summary="Server-sent events of every application the caller may get",
                responses=responses, dependencies=[Depends(permit_each())])
    async def all_apps(request: Request, caller: Caller = Depends(rest_caller)) -> EventSourceResponse:  # noqa: B008
        return EventSourceResponse(_events(request, caller, ""), ping=PING_SECONDS)

    @router.get("/applications/{name}", summary="Server-sent events of one application",
                responses=responses, dependencies=[Depends(permit_app("get"))])
    async def one_app(request: Request, name: str,
                      caller: Caller = Depends(rest_caller)) -> EventSourceResponse:  # noqa: B008
        return EventSourceResponse(_events(request, caller, name), ping=PING_SECONDS)

    return router


async def _events(request: Request, caller: Caller, app: str) -> AsyncIterator[dict[str, Any]]:
    ctx = context(request)
    store = ctx.services().store
    allowed: dict[str, bool] = {}

    def may_get(event: dict[str, Any]) -> bool:
        project = str((event.get("summary") or {}).get("project") or "")
        if event["type"] == "deleted":
            return bool(app) or any(allowed.values())  # a deleted app's project is gone with it
        if project not in allowed:
            allowed[project] = ctx.access.allows(store, caller, "applications", "get", f"{project}/*") or \
                ctx.access.allows(store, caller, "applications", "get", f"{project}/{event['app']}")
        if allowed[project]:
            return True
        return ctx.access.allows(store, caller, "applications", "get", f"{project}/{event['app']}")

    subscriber = Subscriber(asyncio.get_running_loop(), asyncio.Queue(maxsize=SUBSCRIBER_QUEUE), app)
    hub = _hub(request)
    hub.subscribe(subscriber)
    try:
        yield {"comment": "subscribed"}  # from here on, every change reaches this stream
        last = request.headers.get("last-event-id", "")
        if last and valid_event_id(last):
            missed = await asyncio.to_thread(store.app_events_since, last)
            if missed is None:
                yield {"event": "reload", "data": json.dumps({"reason": "events since Last-Event-ID are gone"})}
            else:
                for event in build_events(store, [e for e in missed if not app or e[2] == app]):
                    if may_get(event):
                        yield _message(event)
        checked = time.monotonic()
        while True:
            try:
                event: dict[str, Any] | None = await asyncio.wait_for(subscriber.queue.get(), timeout=REAUTH_SECONDS)
            except TimeoutError:
                event = None
            if time.monotonic() - checked >= REAUTH_SECONDS:
                checked = time.monotonic()
                if not await asyncio.to_thread(still_authenticated, request):
                    yield {"event": "unauthorized", "data": json.dumps({"reason": UNAUTHENTICATED})}
                    return
            if event is not None and may_get(event):
                yield _message(event)
    finally:
        hub.unsubscribe(subscriber)


def _message(event: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in event.items() if k != "id"}
    return {"id": event["id"], "event": event["type"], "data": json.dumps(redact_urls_in(data), sort_keys=True)}
