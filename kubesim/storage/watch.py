"""Watch streams: the events of one resource type as newline-delimited JSON lines.

Without a resourceVersion (or "0"), or with sendInitialEvents=true, a watch starts with
an ADDED event per existing matching object (then, with allowWatchBookmarks, a BOOKMARK
annotated k8s.io/initial-events-end); otherwise it replays history after the version,
or sends one ERROR event wrapping a 410 Expired Status when history no longer reaches
back that far. A change that moves an object into (out of) the selection is sent as ADDED (DELETED),
as the apiserver's watch cache does.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections.abc import Iterator

from kubesim.errors import BadRequest, Expired
from kubesim.http.params import Params
from kubesim.storage.selectors import parse_field_selector, parse_label_selector
from kubesim.storage.store import Event, GroupResource, Obj, Store
from kubesim.verbs.operations import Cluster, Target

DEFAULT_TIMEOUT_SECONDS = 1800.0  # the apiserver's --min-request-timeout
# The watch cache sends a bookmark to each watcher that asked for them about once a minute
# (cacher.go bookmarkFrequency); KubeSim(bookmark_interval=...) shortens it for tests.
BOOKMARK_INTERVAL_SECONDS = 60.0
POLL_SECONDS = 0.5  # how often a quiet stream re-checks for shutdown


def _line(event_type: str, obj: Obj) -> bytes:
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


class _EncodedEvents:
    """Each change encoded once for all the watches that send it (the watch cache's cachingObject):
    with hundreds of watches open, encoding per watcher made every write cost hundreds of dumps."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: dict[tuple[int, str, str], bytes] = {}

    def line(self, event: Event, event_type: str, obj: Obj) -> bytes:
        key = (event.rv, event_type, str(obj.get("apiVersion", "")))
        encoded = self._lines.get(key)
        if encoded is None:
            encoded = _line(event_type, obj)
            with self._lock:
                if len(self._lines) >= self.LIMIT:
                    self._lines.clear()
                self._lines[key] = encoded
        return encoded


class _WatchHub:
    """One per store: wakes only the watches of the resource that changed (a shared condition woke
    every open watch on every write, so hundreds of idle watches slowed all writes), remembers each
    resource's latest change, and encodes each change once."""

    def __init__(self, store: Store) -> None:
        self.waiters: dict[GroupResource, set[threading.Event]] = {}
        self.latest: dict[GroupResource, int] = {}
        self.lines = _EncodedEvents()
        with store.lock:
            store.listeners.append(self._on_change)
            self.since = store.rv  # changes before the hub existed are not in `latest`: assume one here

    def latest_change(self, resource: GroupResource) -> int:
        return self.latest.get(resource, self.since)

    def _on_change(self, event: Event) -> None:
        """Store listener (runs under the store lock)."""
        self.latest[event.resource] = event.rv
        for waiter in self.waiters.get(event.resource, ()):
            waiter.set()

    def register(self, store: Store, resource: GroupResource) -> threading.Event:
        waiter = threading.Event()
        with store.lock:
            self.waiters.setdefault(resource, set()).add(waiter)
        return waiter

    def unregister(self, store: Store, resource: GroupResource, waiter: threading.Event) -> None:
        with store.lock:
            self.waiters.get(resource, set()).discard(waiter)


_HUBS: weakref.WeakKeyDictionary[Store, _WatchHub] = weakref.WeakKeyDictionary()
_HUBS_LOCK = threading.Lock()


def _hub(store: Store) -> _WatchHub:
    with _HUBS_LOCK:
        hub = _HUBS.get(store)
        if hub is None:
            hub = _HUBS[store] = _WatchHub(store)
        return hub


def _start_version(params: Params) -> int | None:
    rv = params.resource_version
    if rv in (None, "", "0"):
        return None
    try:
        return int(rv)
    except ValueError:
        raise BadRequest(f'resourceVersion: Invalid value: "{rv}": must be an unsigned integer') from None


def watch_stream(cluster: Cluster, target: Target, params: Params,
                 bookmark_interval: float = BOOKMARK_INTERVAL_SECONDS) -> Iterator[bytes]:
    """Validate the request now, then return the (lazy) stream of encoded events.

    With allowWatchBookmarks, a BOOKMARK carrying the resourceVersion the stream has reached
    is sent every `bookmark_interval` seconds, so a client can resume from there cheaply."""
    rtype = target.rtype
    labels = parse_label_selector(params.label_selector)
    fields = parse_field_selector(params.field_selector, rtype.kind)
    start = _start_version(params)
    timeout = params.timeout_seconds if params.timeout_seconds is not None else DEFAULT_TIMEOUT_SECONDS
    namespace = target.namespace if rtype.namespaced and target.namespace else None
    store = cluster.store
    hub = _hub(store)

    def selected(obj: Obj | None) -> bool:
        if obj is None:
            return False
        m = obj["metadata"]
        if namespace is not None and m.get("namespace") != namespace:
            return False
        return labels.matches(m.get("labels")) and fields.matches(obj)

    def translate(event: Event) -> tuple[str, Obj] | None:
        if event.resource != target.resource:
            return None
        now_in, was_in = selected(event.obj), selected(event.old)
        if event.type == "DELETED":
            return ("DELETED", event.obj) if was_in else None
        if now_in and was_in:
            return ("MODIFIED", event.obj)
        if now_in:
            return ("ADDED", event.obj)
        if was_in:
            return ("DELETED", event.obj)
        return None

    def stream() -> Iterator[bytes]:
        deadline = time.monotonic() + timeout
        replay = start is None or params.send_initial_events
        with store.lock:
            last = store.rv
            initial = store.list(target.resource, namespace) if replay else []
        if replay:
            for obj in sorted(initial, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])):
                if selected(obj):
                    yield _line("ADDED", cluster.serve(obj, rtype))
            if params.send_initial_events and params.allow_watch_bookmarks:
                # the watch-list protocol: a bookmark marks the end of the synthetic initial events
                yield _line("BOOKMARK", {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": {
                    "resourceVersion": str(last), "annotations": {"k8s.io/initial-events-end": "true"}}})
        else:
            last = start
        next_bookmark = time.monotonic() + bookmark_interval
        waiter = hub.register(store, target.resource)
        try:
            while not store.closed:
                waiter.clear()  # before reading the history: a change after this read sets it again
                with store.lock:
                    if hub.latest_change(target.resource) <= last:
                        events: list[Event] | None = []  # nothing of ours changed: skip the others' changes
                        last = store.rv
                    else:
                        events = store.events_after(last)
                if events is None:
                    oldest = store.history[0].rv if store.history else store.rv
                    gone = Expired(f"too old resource version: {last} ({oldest - 1})")
                    yield _line("ERROR", gone.to_status())
                    return
                for event in events:
                    last = event.rv
                    out = translate(event)
                    if out is not None:
                        yield hub.lines.line(event, out[0], cluster.serve(out[1], rtype))
                moment = time.monotonic()
                if params.allow_watch_bookmarks and moment >= next_bookmark:
                    next_bookmark = moment + bookmark_interval
                    yield _line("BOOKMARK", {"kind": rtype.kind, "apiVersion": rtype.api_version,
                                             "metadata": {"resourceVersion": str(last)}})
                remaining = deadline - moment
                if remaining <= 0:
                    return
                wait = min(remaining, POLL_SECONDS)
                if params.allow_watch_bookmarks:
                    wait = max(min(wait, next_bookmark - moment), 0.0)
                waiter.wait(wait)
        finally:
            hub.unregister(store, target.resource, waiter)

    return stream()
