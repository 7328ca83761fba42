"""Counters and timings written to Redis, so any API replica's /metrics reports the whole
system (every worker's syncs, polls, git and Kubernetes requests).

Writers call these functions; `reconciler/metrics.py` reads them back for Prometheus.
Every function is cheap (one MULTI/EXEC round trip, none when there is nothing to add)
and never raises: telemetry must not fail a sync.

Field names in the counter hashes are JSON arrays of the label values, so a repository
URL or any other value can never be confused with a separator.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import weakref
from collections.abc import Hashable, Iterable
from typing import Any

from reconciler.engine.cluster import Clusters
from reconciler.source.git.client import GitCounters
from reconciler.state import Keys, Store

log = logging.getLogger("reconciler.telemetry")

# Argo CD's `argocd_app_reconcile` buckets, so its dashboards keep working.
RECONCILE_BUCKETS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, math.inf)
RECONCILE_SUM_FIELD = "sum"
GIT_FIELDS = ("calls", "failures", "seconds")

Increment = tuple[str, str, float]


def label_field(*values: str) -> str:
    """The hash field for one combination of label values."""
    return json.dumps(list(values), separators=(",", ":"))


def bucket_field(upper_bound: float) -> str:
    return "le:+Inf" if math.isinf(upper_bound) else f"le:{upper_bound:g}"


def _write(store: Store, increments: list[Increment], what: str) -> bool:
    try:
        store.increment_counters(increments)
    except Exception as exc:  # telemetry must never fail the caller
        log.warning("telemetry: could not record %s: %s: %s", what, type(exc).__name__, exc)
        return False
    return True


def record_sync(store: Store, app: str, phase: str) -> None:
    """One sync operation of `app` ended in `phase` (Succeeded, Failed, Error)."""
    _write(store, [(Keys.metrics_syncs, label_field(app, phase), 1)], f"the {phase} sync of app {app!r}")


def _reconcile_increments(seconds: float) -> list[Increment]:
    seconds = max(float(seconds), 0.0)
    bound = next(b for b in RECONCILE_BUCKETS if seconds <= b)
    return [
        (Keys.metrics_reconcile, bucket_field(bound), 1),
        (Keys.metrics_reconcile, RECONCILE_SUM_FIELD, seconds),
    ]


def record_reconcile(store: Store, app: str, seconds: float) -> None:
    """One poll (comparison) of `app` took `seconds`."""
    _write(store, _reconcile_increments(seconds), f"the reconcile time of app {app!r}")


def buffer_reconcile(seconds: float) -> None:
    """One poll took `seconds`: added to Redis with this process's next counter flush
    (`flush_process_counters`), instead of a round trip of its own."""
    with _flush_guard:
        for _key, field, amount in _reconcile_increments(seconds):
            _reconcile_buffer[field] = _reconcile_buffer.get(field, 0) + amount


def record_webhook(store: Store, provider: str, result: str) -> None:
    """One webhook request from `provider` ended with `result` (accepted, ignored, refused, ...)."""
    _write(store, [(Keys.metrics_webhooks, label_field(provider, result), 1)], f"a {provider} webhook")


def record_notification(store: Store, service: str, trigger: str, succeeded: bool) -> None:
    """One notification to `service` for `trigger` was delivered, or given up on."""
    field = label_field(service, trigger, "true" if succeeded else "false")
    _write(store, [(Keys.metrics_notifications, field, 1)], f"a {trigger} notification to {service}")


# --------------------------------------------------------------------------------------
# Per-process request counters, flushed as deltas
# --------------------------------------------------------------------------------------

# What this process already added to Redis, per counters object (a GitCounters or a
# Cluster), so each flush adds only what is new. Keyed by id() with a weak reference to
# tell a live object from a new one that reuses a dead one's id.
_flush_guard = threading.Lock()
_flushed: dict[int, tuple[weakref.ref[Any], dict[Hashable, float]]] = {}
# Poll times not yet written (buffer_reconcile): reconcile-histogram field -> amount.
_reconcile_buffer: dict[str, float] = {}


def _take_delta(source: object, current: dict[Hashable, float]) -> dict[Hashable, float]:
    """What `current` adds to the last flushed totals of `source`; marks it flushed.
    Caller holds _flush_guard."""
    entry = _flushed.get(id(source))
    previous = entry[1] if entry is not None and entry[0]() is source else {}
    _flushed[id(source)] = (weakref.ref(source), dict(current))
    return {key: value - previous.get(key, 0) for key, value in current.items() if value != previous.get(key, 0)}


def _give_back(source: object, delta: dict[Hashable, float]) -> None:
    """Undo _take_delta after a failed write, so the next flush sends these again.
    Caller holds _flush_guard."""
    entry = _flushed.get(id(source))
    if entry is None or entry[0]() is not source:
        return
    for key, value in delta.items():
        entry[1][key] = entry[1].get(key, 0) - value


def _forget_dead() -> None:
    for key in [key for key, (ref, _) in _flushed.items() if ref() is None]:
        del _flushed[key]


def _copy(items: Any) -> list[Any]:
    """A list of a dict's items while other threads may add keys: the C-level copy is
    atomic under the GIL; retry in case an interpreter without one interleaves."""
    for _ in range(5):
        try:
            return list(items())
        except RuntimeError:  # dictionary changed size during iteration
            continue
    return []


def _git_totals(git: GitCounters) -> dict[Hashable, float]:
    totals: dict[Hashable, float] = {}
    for (request_type, repo), stats in _copy(git.requests.items):
        totals[(request_type, repo, "calls")] = stats.calls
        totals[(request_type, repo, "failures")] = stats.failures
        totals[(request_type, repo, "seconds")] = stats.seconds
    return totals


def _as_increments(key: str, delta: dict[Hashable, float]) -> Iterable[Increment]:
    for labels, amount in delta.items():
        assert isinstance(labels, tuple)
        yield key, label_field(*labels), amount


def flush_process_counters(store: Store, git: GitCounters, clusters: Clusters) -> None:
    """Add this process's git and Kubernetes request counts since the last flush to Redis.

    `git.requests` holds cumulative (request_type, repo) -> RequestStats; each Cluster of
    `clusters` holds cumulative `request_counts[(verb, code)]`; the poll times `buffer_reconcile`
    kept go too. Workers call it through `flush_soon`.
    Several threads may flush at once: deltas are taken under a lock, so each request is
    added once; a failed write hands its delta back for the next flush.
    """
    try:
        sources: list[tuple[object, str, dict[Hashable, float]]] = [(git, Keys.metrics_git, _git_totals(git))]
        for cluster in clusters.clusters():
            counts: dict[Hashable, float] = dict(_copy(cluster.request_counts.items))
            sources.append((cluster, Keys.metrics_k8s, counts))
        taken: list[tuple[object, dict[Hashable, float]]] = []
        increments: list[Increment] = []
        with _flush_guard:
            _forget_dead()
            buffered = dict(_reconcile_buffer)
            _reconcile_buffer.clear()
            increments.extend((Keys.metrics_reconcile, field, amount) for field, amount in buffered.items())
            for source, key, totals in sources:
                delta = _take_delta(source, totals)
                if delta:
                    taken.append((source, delta))
                    increments.extend(_as_increments(key, delta))
    except Exception as exc:  # telemetry must never fail the caller
        log.warning("telemetry: could not read this process's request counters: %s: %s", type(exc).__name__, exc)
        return
    if increments and not _write(store, increments, "this process's git and Kubernetes request counts"):
        with _flush_guard:
            for source, delta in taken:
                _give_back(source, delta)
            for field, amount in buffered.items():
                _reconcile_buffer[field] = _reconcile_buffer.get(field, 0) + amount


# A worker flushes at most once a second, not after every task: at 1,000 apps' first sync
# every task's flush was a MULTI/EXEC of several HINCRBYs (about 20 Redis commands per app).
# What a task adds within a second of the last flush goes with a timer's flush at the end of
# that second, so /metrics lags by at most a second (and a process killed meanwhile loses at
# most that second's counts).
FLUSH_INTERVAL_SECONDS = 1.0
_schedule_guard = threading.Lock()
_last_flush = -math.inf
_pending_flush: threading.Timer | None = None


def flush_soon(store: Store, git: GitCounters, clusters: Clusters) -> None:
    """`flush_process_counters` now when the last flush is a second old, else at that second."""
    global _last_flush, _pending_flush
    with _schedule_guard:
        wait = _last_flush + FLUSH_INTERVAL_SECONDS - time.monotonic()
        if wait > 0:
            if _pending_flush is None:
                _pending_flush = threading.Timer(wait, _flush_deferred, args=(store, git, clusters))
                _pending_flush.daemon = True
                _pending_flush.start()
            return
        _last_flush = time.monotonic()
    flush_process_counters(store, git, clusters)


def _flush_deferred(store: Store, git: GitCounters, clusters: Clusters) -> None:
    global _last_flush, _pending_flush
    with _schedule_guard:
        _pending_flush = None
        _last_flush = time.monotonic()
    flush_process_counters(store, git, clusters)
