"""Prometheus exposition of the whole system, read from Redis at each scrape.

Every value comes from Redis (app registry, statuses, the counters `telemetry.py` writes,
the broker's queue lists), so any API replica reports every worker's work and a scrape
of any one replica is enough. Names follow Argo CD's with a `reconciler_` prefix, so its
dashboards and alerts carry over with a prefix change.

The API serves `render(store)` at GET /metrics. A Redis error propagates: the scrape
fails (Prometheus marks the target down) rather than reporting zeros.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from reconciler.core.urls import redact_url
from reconciler.model import SpecError, parse_application
from reconciler.state import Keys, Store
from reconciler.telemetry import GIT_FIELDS, RECONCILE_BUCKETS, RECONCILE_SUM_FIELD, bucket_field

# The Celery queues (workers/celery_app.py QUEUES; kept here because reconciler/ imports
# no Celery) and how kombu's Redis transport names a queue's priority lists: the plain
# name holds priority 0, `{queue}\x06\x16{step}` the others. Depth is their sum.
CELERY_QUEUES = ("urgent", "sync", "poll", "preview", "notifications")
KOMBU_PRIORITY_STEPS = (0, 3, 6, 9)
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"

APP_INFO_LABELS = (
    "name",
    "project",
    "repo",
    "dest_server",
    "dest_namespace",
    "sync_status",
    "health_status",
    "autosync_enabled",
)
UNKNOWN = "Unknown"


def broker_queue_keys(queue: str) -> list[str]:
    """The Redis lists that hold `queue`'s waiting messages, one per priority step."""
    return [queue if step == 0 else f"{queue}{KOMBU_PRIORITY_SEPARATOR}{step}" for step in KOMBU_PRIORITY_STEPS]


@lru_cache(maxsize=65536)
def _spec_labels(manifest_text: str) -> tuple[str, str, str, str, str]:
    """(project, repo, dest_server, dest_namespace, autosync_enabled) of a stored manifest.

    Cached by the manifest's text: parsing costs ~60 us, and a scrape of 10,000 apps
    must not re-parse manifests that did not change.
    """
    try:
        app = parse_application(json.loads(manifest_text), source_file="registered application")
    except (SpecError, ValueError):
        return _raw_spec_labels(manifest_text)
    return (
        app.project or "default",
        redact_url(app.source.repo_url),
        app.destination.server or app.destination.name,
        app.destination.namespace,
        "true" if app.automated else "false",
    )


def _raw_spec_labels(manifest_text: str) -> tuple[str, str, str, str, str]:
    """Best-effort labels of a manifest that does not parse (its status names the problem)."""
    try:
        spec = json.loads(manifest_text).get("spec") or {}
        source = spec.get("source") or {}
        destination = spec.get("destination") or {}
        automated = (spec.get("syncPolicy") or {}).get("automated")
        return (
            str(spec.get("project") or "default"),
            redact_url(str(source.get("repoURL") or "")),
            str(destination.get("server") or destination.get("name") or ""),
            str(destination.get("namespace") or ""),
            "true" if automated else "false",
        )
    except (ValueError, AttributeError):
        return ("", "", "", "", "false")


def _labels(field: str) -> list[str]:
    return [str(v) for v in json.loads(field)]


def _number(raw: str) -> float:
    value = float(raw)
    return int(value) if value.is_integer() else value


class RedisCollector(Collector):
    """Reads the system's state from Redis at each collect()."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        store = self.store
        manifests = store.app_manifest_texts()
        names = sorted(manifests)
        statuses = store.statuses(names)
        operations = store.operation_states(names)
        counters = store.counters(
            [
                Keys.metrics_syncs,
                Keys.metrics_reconcile,
                Keys.metrics_git,
                Keys.metrics_webhooks,
                Keys.metrics_k8s,
                Keys.metrics_notifications,
                Keys.metrics_audit,
            ]
        )
        queue_keys = {queue: broker_queue_keys(queue) for queue in CELERY_QUEUES}
        lengths = store.list_lengths([key for keys in queue_keys.values() for key in keys])
        deferred = store.deferred_count()

        yield from self._apps(manifests, statuses, operations)
        yield self._syncs(counters[Keys.metrics_syncs], set(names))
        yield self._reconcile(counters[Keys.metrics_reconcile])
        yield from self._git(counters[Keys.metrics_git])
        yield self._labelled_counter(
            "reconciler_webhook_requests_total",
            "Webhook requests received, by provider and result.",
            ["provider", "result"],
            counters[Keys.metrics_webhooks],
        )
        yield self._labelled_counter(
            "reconciler_notifications_deliveries_total",
            "Notifications sent (succeeded=true) or given up after retries (false), by service and trigger.",
            ["service", "trigger", "succeeded"],
            counters[Keys.metrics_notifications],
        )
        yield self._labelled_counter(
            "reconciler_k8s_request_total",
            "Requests to Kubernetes API servers, by verb and HTTP status code ('error': no answer).",
            ["verb", "code"],
            counters[Keys.metrics_k8s],
        )
        yield self._labelled_counter(
            "reconciler_audit_events_total",
            "Audit log events: changes and refusals through the API, by action and outcome "
            "(succeeded, failed, denied, unauthenticated).",
            ["action", "outcome"],
            counters[Keys.metrics_audit],
        )
        queue_length = GaugeMetricFamily(
            "reconciler_queue_length", "Tasks waiting in each Celery queue (all priorities).", labels=["queue"]
        )
        offset = 0
        for queue, keys in queue_keys.items():
            queue_length.add_metric([queue], sum(lengths[offset : offset + len(keys)]))
            offset += len(keys)
        yield queue_length
        yield GaugeMetricFamily(
            "reconciler_deferred_syncs", "Sync retries waiting for their backoff to pass.", value=deferred
        )
        yield from self._redis_memory()

    def _redis_memory(self) -> Iterator[Metric]:
        """Redis's own memory figures and refused commands: with maxmemory-policy noeviction a
        full Redis refuses writes (OOM) rather than drop keys, and this is where that shows."""
        memory = self.store.r.info("memory")
        yield GaugeMetricFamily("reconciler_redis_used_memory_bytes", "Memory Redis holds (used_memory).",
                                value=int(memory.get("used_memory", 0)))
        yield GaugeMetricFamily("reconciler_redis_maxmemory_bytes", "Redis's maxmemory (0: no limit).",
                                value=int(memory.get("maxmemory", 0)))
        rejected = CounterMetricFamily(
            "reconciler_redis_rejected_commands",
            "Commands Redis refused, by error prefix (OOM: full at maxmemory), since it started.",
            labels=["error"],
        )
        for key, value in self.store.r.info("errorstats").items():
            if key.startswith("errorstat_") and isinstance(value, dict):
                rejected.add_metric([key.removeprefix("errorstat_")], int(value.get("count", 0)))
        yield rejected

    def _apps(
        self,
        manifests: dict[str, str],
        statuses: dict[str, dict[str, Any] | None],
        operations: dict[str, dict[str, Any] | None],
    ) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "reconciler_app_info", "Information about each registered application; always 1.", labels=APP_INFO_LABELS
        )
        conditions = GaugeMetricFamily(
            "reconciler_app_condition", "Conditions on each application, by type.", labels=["name", "condition"]
        )
        retries = GaugeMetricFamily(
            "reconciler_app_operation_retry_count",
            "Retries so far of each application's latest sync operation.",
            labels=["name"],
        )
        orphaned = GaugeMetricFamily(
            "reconciler_app_orphaned_resources_count",
            "Orphaned resources (top-level objects no app tracks) in the destination namespace of each "
            "application whose AppProject sets orphanedResources, at its last poll.",
            labels=["app"],
        )
        for name in sorted(manifests):
            status = statuses.get(name) or {}
            if isinstance(status.get("orphanedResourcesCount"), int):
                orphaned.add_metric([name], status["orphanedResourcesCount"])
            project, repo, server, namespace, autosync = _spec_labels(manifests[name])
            sync_status = (status.get("sync") or {}).get("status") or UNKNOWN
            health_status = (status.get("health") or {}).get("status") or UNKNOWN
            info.add_metric([name, project, repo, server, namespace, sync_status, health_status, autosync], 1)
            by_type: dict[str, int] = {}
            for condition in status.get("conditions") or []:
                kind = str(condition.get("type") or UNKNOWN)
                by_type[kind] = by_type.get(kind, 0) + 1
            for kind, count in sorted(by_type.items()):
                conditions.add_metric([name, kind], count)
            operation = operations.get(name)
            if operation is not None:
                retries.add_metric([name], int(operation.get("retryCount") or 0))
        yield info
        yield conditions
        yield retries
        yield orphaned

    def _syncs(self, raw: dict[str, str], registered: set[str]) -> Metric:
        family = CounterMetricFamily(
            "reconciler_app_sync_total", "Sync operations finished, by application and phase.", labels=["name", "phase"]
        )
        for field, value in sorted(raw.items()):
            name, phase = _labels(field)
            if name in registered:  # a deleted app's series end with it
                family.add_metric([name, phase], _number(value))
        return family

    def _reconcile(self, raw: dict[str, str]) -> Metric:
        buckets: list[tuple[str, float]] = []
        cumulative = 0.0
        for bound in RECONCILE_BUCKETS:
            cumulative += _number(raw.get(bucket_field(bound), "0"))
            buckets.append(("+Inf" if math.isinf(bound) else floatToGoString(bound), cumulative))
        return HistogramMetricFamily(
            "reconciler_app_reconcile_seconds",
            "Duration of application polls (comparisons with Git and the cluster).",
            buckets=buckets,
            sum_value=_number(raw.get(RECONCILE_SUM_FIELD, "0")),
        )

    def _git(self, raw: dict[str, str]) -> Iterator[Metric]:
        totals: dict[tuple[str, str], dict[str, float]] = {}
        for field, value in raw.items():
            request_type, repo, kind = _labels(field)
            if kind in GIT_FIELDS:
                totals.setdefault((repo, request_type), {})[kind] = _number(value)
        labels = ["repo", "request_type"]
        requests = CounterMetricFamily(
            "reconciler_git_request_total", "Remote git requests (ls-remote, fetch), by repository.", labels=labels
        )
        failures = CounterMetricFamily(
            "reconciler_git_request_failures_total", "Remote git requests that failed, by repository.", labels=labels
        )
        durations = SummaryMetricFamily(
            "reconciler_git_request_duration_seconds", "Time spent in remote git requests.", labels=labels
        )
        for (repo, request_type), stats in sorted(totals.items()):
            calls = stats.get("calls", 0)
            requests.add_metric([repo, request_type], calls)
            failures.add_metric([repo, request_type], stats.get("failures", 0))
            durations.add_metric([repo, request_type], count_value=int(calls), sum_value=stats.get("seconds", 0.0))
        yield requests
        yield failures
        yield durations

    @staticmethod
    def _labelled_counter(name: str, documentation: str, labels: list[str], raw: dict[str, str]) -> Metric:
        family = CounterMetricFamily(name, documentation, labels=labels)
        for field, value in sorted(raw.items()):
            family.add_metric(_labels(field), _number(value))
        return family


def render(store: Store) -> tuple[bytes, str]:
    """The Prometheus text exposition of the whole system, and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(store))
    return generate_latest(registry), CONTENT_TYPE_LATEST
