"""A worker's half of `logs?follow=true` for an API without cluster credentials
(RECONCILER_API_CLUSTER_ACCESS=workers): follow the containers' logs (logs.py follow_logs) and
append each line to the request's Redis stream (state/log_follows.py) until the API stops
wanting them, the containers' streams end, or MAX_FOLLOW_SECONDS pass.

It runs in a thread of the worker process (`start`), not in the task that asked for it, so a
followed log does not hold a worker slot for as long as someone reads it; at most
MAX_FOLLOWS_PER_PROCESS run in one process, and a request past that is refused by name.
"""

from __future__ import annotations

import threading
import time

from reconciler.control.catalog import UnknownApplication
from reconciler.control.views.logs import LogQuery, follow_logs
from reconciler.control.views.scope import NotInApplication
from reconciler.core.errors import ReconcilerError
from reconciler.services import Services

MAX_FOLLOWS_PER_PROCESS = 16
MAX_FOLLOW_SECONDS = 3600
PING_SECONDS = 10.0  # the API takes a worker silent for 3 pings as gone
WANTED_CHECK_SECONDS = 2.0

_running = threading.BoundedSemaphore(MAX_FOLLOWS_PER_PROCESS)


def start(services: Services, request_id: str, name: str, query: LogQuery) -> None:
    """Begin relaying in a thread; refuses (an `error` entry) when this process follows enough."""
    store = services.store
    if not _running.acquire(blocking=False):
        store.add_log_entry(request_id, "error", f"this worker already follows {MAX_FOLLOWS_PER_PROCESS} logs: "
                                                 "close another followed log or run more workers")
        store.add_log_entry(request_id, "end")
        return
    thread = threading.Thread(target=_relay_and_release, args=(services, request_id, name, query), daemon=True,
                              name=f"relay-logs-{name}")
    thread.start()


def _relay_and_release(services: Services, request_id: str, name: str, query: LogQuery) -> None:
    try:
        relay(services, request_id, name, query)
    finally:
        _running.release()


def relay(services: Services, request_id: str, name: str, query: LogQuery) -> None:
    """Follow and append until the API no longer wants the lines; always ends with `end`."""
    store = services.store
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_wanted, args=(services, request_id, stop), daemon=True,
                               name=f"relay-wanted-{name}")
    store.add_log_entry(request_id, "started")
    watcher.start()
    try:
        for line in follow_logs(services, name, query, stop):
            store.add_log_entry(request_id, "line", line)
    except (ReconcilerError, NotInApplication, UnknownApplication, ValueError) as exc:
        store.add_log_entry(request_id, "error", str(exc))
    finally:
        stop.set()
        store.add_log_entry(request_id, "end")


def _watch_wanted(services: Services, request_id: str, stop: threading.Event) -> None:
    """Ping the API while following; stop when its `wanted` key is gone or time is up."""
    store = services.store
    started = last_ping = time.monotonic()
    while not stop.wait(WANTED_CHECK_SECONDS):
        now = time.monotonic()
        if not store.log_follow_wanted(request_id) or now - started > MAX_FOLLOW_SECONDS:
            stop.set()
            return
        if now - last_ping >= PING_SECONDS:
            store.add_log_entry(request_id, "ping")
            last_ping = now
