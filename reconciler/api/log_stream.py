"""`GET .../logs?follow=true`: container log lines as server-sent events (`data: <line>`; an
`error` event when the read fails), read here when the API has cluster access, or relayed from
a worker through Redis when it has none (control/views/log_relay.py, state/log_follows.py).

Either stream ends when the client goes, when the containers' streams end, or when the
credentials it was opened with stop authenticating (checked every REAUTH_SECONDS).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request

from reconciler.api.auth import context, still_authenticated
from reconciler.api.context import WORKER_ANSWER_TIMEOUT_SECONDS
from reconciler.control.catalog import UnknownApplication
from reconciler.control.views.log_relay import PING_SECONDS
from reconciler.control.views.logs import follow_logs
from reconciler.control.views.requests import log_query
from reconciler.control.views.scope import NotInApplication
from reconciler.core.errors import ReconcilerError

REAUTH_SECONDS = 5.0
WANTED_TTL_SECONDS = 15
READ_BLOCK_MS = 1000
UNAUTHENTICATED = "the credentials this stream was opened with no longer authenticate: sign in again"

Event = dict[str, str]


def follow(request: Request, name: str, params: dict[str, Any]) -> AsyncIterator[Event]:
    """The stream of `params`' log lines, read here or relayed by a worker as the settings say."""
    if context(request).settings.api_cluster_access == "workers":
        return _relayed(request, name, params)
    return _direct(request, name, params)


async def _authenticated(request: Request) -> bool:
    return await asyncio.to_thread(still_authenticated, request)


async def _direct(request: Request, name: str, params: dict[str, Any]) -> AsyncIterator[Event]:
    services = context(request).services()
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue(maxsize=10_000)
    stop = threading.Event()

    def put(item: tuple[str, str] | None) -> None:
        with contextlib.suppress(RuntimeError):  # the stream's loop closed: it is going away
            asyncio.run_coroutine_threadsafe(lines.put(item), loop).result()

    def pump() -> None:
        try:
            for line in follow_logs(services, name, log_query(params), stop):
                put(("line", line))
        except (ReconcilerError, NotInApplication, UnknownApplication, ValueError) as exc:
            put(("error", str(exc)))
        finally:
            put(None)

    threading.Thread(target=pump, daemon=True, name=f"follow-logs-{name}").start()
    checked = time.monotonic()
    try:
        while True:
            try:
                item = await asyncio.wait_for(lines.get(), timeout=REAUTH_SECONDS)
            except TimeoutError:
                item = ("tick", "")
            if time.monotonic() - checked >= REAUTH_SECONDS:
                checked = time.monotonic()
                if not await _authenticated(request):
                    yield {"event": "error", "data": UNAUTHENTICATED}
                    return
            if item is None:
                return
            kind, text = item
            if kind == "line":
                yield {"data": text}
            elif kind == "error":
                yield {"event": "error", "data": text}
    finally:
        stop.set()


async def _relayed(request: Request, name: str, params: dict[str, Any]) -> AsyncIterator[Event]:
    """Ask a worker to follow, then stream what it appends; a worker that never starts within the
    API's answer timeout, or falls silent for three pings, ends the stream with an error."""
    from workers.tasks import follow_logs as follow_task

    store = context(request).services().store
    request_id = uuid.uuid4().hex
    await asyncio.to_thread(store.want_log_follow, request_id, WANTED_TTL_SECONDS)
    follow_task.apply_async(args=(request_id, {"name": name, **params}), queue="urgent")
    position, started = "0-0", False
    opened = heard = renewed = time.monotonic()
    try:
        while True:
            entries = await asyncio.to_thread(store.read_log_entries, request_id, position, READ_BLOCK_MS)
            now = time.monotonic()
            if now - renewed >= REAUTH_SECONDS:
                renewed = now
                if not await _authenticated(request):
                    yield {"event": "error", "data": UNAUTHENTICATED}
                    return
                await asyncio.to_thread(store.want_log_follow, request_id, WANTED_TTL_SECONDS)
            if entries:
                heard = now
            elif not started and now - opened > WORKER_ANSWER_TIMEOUT_SECONDS:
                yield {"event": "error", "data": f"no worker took the log request within "
                       f"{WORKER_ANSWER_TIMEOUT_SECONDS:.0f}s: check that workers run (`reconciler worker`)"}
                return
            elif started and now - heard > 3 * PING_SECONDS:
                yield {"event": "error", "data": "the worker following these logs stopped answering: open them again"}
                return
            for entry_id, kind, text in entries:
                position = entry_id
                started = True
                if kind == "line":
                    yield {"data": text}
                elif kind == "error":
                    yield {"event": "error", "data": text}
                elif kind == "end":
                    return
    finally:
        await asyncio.to_thread(store.drop_log_follow, request_id)
