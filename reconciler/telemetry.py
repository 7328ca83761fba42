"""Counters and timings written to Redis, so any API replica's /metrics reports the whole
system (every worker's syncs, polls, git and Kubernetes requests).

Writers call these functions; `reconciler/metrics.py` reads them back for Prometheus.
Every function is cheap (one pipelined round trip) and never raises: telemetry must not
fail a sync.
"""

from __future__ import annotations

import logging

from reconciler.git import GitCounters
from reconciler.kube import ClusterRegistry
from reconciler.store import Store

log = logging.getLogger("reconciler.telemetry")


def record_sync(store: Store, app: str, phase: str) -> None:
    """One sync operation of `app` ended in `phase` (Succeeded, Failed, Error)."""


def record_reconcile(store: Store, app: str, seconds: float) -> None:
    """One poll (comparison) of `app` took `seconds`."""


def flush_process_counters(store: Store, git: GitCounters, clusters: ClusterRegistry) -> None:
    """Add this process's git and Kubernetes request counts since the last flush to Redis.

    `git.requests` holds cumulative (request_type, repo) -> RequestStats; each Cluster of
    `clusters` holds cumulative `request_counts[(verb, code)]`. Called after every task.
    """


def record_webhook(store: Store, provider: str, result: str) -> None:
    """One webhook request from `provider` ended with `result` (accepted, ignored, refused, ...)."""
