"""The Celery application: broker and results on Redis, three queues, settings for workers
that may die at any moment.

Queues:
- `poll`: scheduled refreshes, the bulk of the traffic.
- `sync`: apply / prune steps of sync operations already decided.
- `urgent`: webhook- and user-triggered work, so a flood of polls never delays it.
- `preview`: pull-request previews (renders and dry-runs of a change before it merges), so a
  burst of pull requests never delays a poll or a sync.
- `notifications`: deliveries of Argo CD Notifications (one task per message, retried with
  backoff), so a slow or down chat service never delays a poll or a sync.
Workers consume `urgent,sync,poll,preview,notifications`; scaled deployments may give queues their own workers.

Reliability, chosen on purpose:
- `task_acks_late` + `task_reject_on_worker_lost`: a task is acknowledged after it ran, so
  a worker killed mid-task (OOM, SIGKILL, node loss) leaves the message to be redelivered
  to another worker. Every task is idempotent (server-side apply; prune re-checks
  ownership; operation steps advance by compare-and-set), so running twice is safe.
- `worker_prefetch_multiplier=1`: a worker reserves one task per process, so a slow
  sync does not sit on messages other workers could run.
- `visibility_timeout` > hard time limit + the longest countdown we use: Redis redelivers
  an unacknowledged message after this, so it must not fire while the task still runs
  or while a countdown task waits in a worker. Long waits (retry backoff of minutes) are
  therefore not countdowns: they go to a Redis schedule that beat drains.
- Hard time limits shorter than the sync lock's TTL, and the lock TTL longer than the
  visibility timeout, so a redelivered step of an operation still holds its lock.
- Results expire after an hour: state lives in our own keys, results are for Flower.
- Task events only while Flower runs (it enables them on every worker): see `configure`.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

from celery import Celery
from celery.signals import setup_logging
from celery.worker.consumer import Consumer
from kombu import Exchange, Queue

from reconciler import logs
from reconciler.settings import Settings
from reconciler.state.connection import redis_endpoint

# How a worker that lost its broker tries again: from 0.2 s, growing by 0.5 s, at most 2 s
# apart (kombu's defaults, 2 s growing by 2 s to 30 s, would leave it idle for up to 30 s after
# a Redis failover that Sentinel completes in a few).
RECONNECT_INTERVALS = {"interval_start": 0.2, "interval_step": 0.5, "interval_max": 2.0}


class FailoverConsumer(Consumer):
    """Celery's consumer, reconnecting to the broker at RECONNECT_INTERVALS."""

    def ensure_connected(self, conn: Any) -> Any:
        conn.ensure_connection = functools.partial(conn.ensure_connection, **RECONNECT_INTERVALS)
        return super().ensure_connected(conn)
QUEUES = ("urgent", "sync", "poll", "preview", "notifications")


@dataclass(frozen=True)
class TaskTimings:
    """Every time limit of the system, derived from one number so they stay consistent."""

    time_limit: float = 120.0

    @property
    def soft_time_limit(self) -> float:
        return self.time_limit * 0.8

    @property
    def max_countdown(self) -> float:
        return min(30.0, self.time_limit / 2)

    @property
    def visibility_timeout(self) -> float:
        return 1.5 * (self.time_limit + self.max_countdown)

    @property
    def lock_ttl(self) -> float:
        return 1.5 * self.visibility_timeout

    @classmethod
    def from_env(cls) -> TaskTimings:
        raw = os.environ.get("RECONCILER_TASK_TIME_LIMIT", "").strip()
        return cls(time_limit=float(raw)) if raw else cls()


def configure(app: Celery, settings: Settings | None = None, timings: TaskTimings | None = None) -> Celery:
    """Point `app` at this system's Redis and apply the reliability settings above.

    Called once at import with the environment; a test session calls it again with its
    own Redis before anything connects.
    """
    settings = settings or Settings.from_env()
    timings = timings or TaskTimings.from_env()
    redis_conf = redis_endpoint(settings).celery_conf(timings.visibility_timeout)
    app.conf.update(
        broker_url=redis_conf["broker_url"],
        result_backend=redis_conf["result_backend"],
        broker_use_ssl=redis_conf.get("broker_use_ssl"),
        redis_backend_use_ssl=redis_conf.get("redis_backend_use_ssl"),
        # One direct exchange per queue, so a message routed to `urgent` lands in `urgent` only.
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
        task_default_queue="poll",
        task_default_exchange="poll",
        task_default_routing_key="poll",
        task_routes={
            "reconciler.poll": {"queue": "poll"},
            "reconciler.sync": {"queue": "sync"},
            "reconciler.apply": {"queue": "sync"},
            "reconciler.prune": {"queue": "sync"},
            "reconciler.cluster_request": {"queue": "urgent"},
            "reconciler.follow_logs": {"queue": "urgent"},
            "reconciler.appset": {"queue": "poll"},
            "reconciler.notify": {"queue": "notifications"},
            "reconciler.preview": {"queue": "preview"},
        },
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A worker that lost its broker connection (a Redis failover) cannot acknowledge what it
        # runs, so those messages are delivered again; the running copies are stopped first, so
        # a copy stalled on the old primary cannot write beside the one redelivered (Celery 6's
        # default).
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_prefetch_multiplier=1,
        task_time_limit=timings.time_limit,
        task_soft_time_limit=timings.soft_time_limit,
        broker_transport_options={
            **redis_conf["broker_transport_options"],
            # Sweep for messages of dead workers often; the default (every 100 s) is slow
            # next to a short visibility timeout.
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
        },
        result_backend_transport_options=redis_conf["result_backend_transport_options"],
        # A publish during a Redis failover (the primary died; Sentinel promotes a replica in a
        # few seconds) is retried for about 30 s rather than Celery's 0.6 s, so a sync's next
        # step or a webhook's poll is sent to the new primary instead of failing the task.
        task_publish_retry_policy={"max_retries": 30, "interval_start": 0, "interval_step": 0.5, "interval_max": 1.0},
        result_expires=3600,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_track_started=True,
        # No task events unless someone watches: each task's events cost several Redis PUBLISHes
        # (about 16 per app's first sync) and the workers' CPU to build them. Flower asks every
        # worker to send them (its `enable_events` broadcast, every few seconds while it runs), so
        # its task list still fills; the `task-sent` event, which only publishers can send, is
        # left out, and Flower shows a task from its `task-received` on.
        worker_send_task_events=False,
        task_send_sent_event=False,
        broker_connection_retry_on_startup=True,
        worker_consumer="workers.celery_app:FailoverConsumer",
        worker_hijack_root_logger=False,
        reconciler_timings=timings,
        reconciler_settings=settings,
    )
    return app


app = configure(Celery("reconciler", include=["workers.tasks"]))


@setup_logging.connect
def _structured_logs(loglevel: str | int | None = None, **_: object) -> None:
    """Workers and beat log through reconciler.logs (JSON with the app name), not Celery's format."""
    logs.configure(loglevel or "INFO", app.conf.reconciler_settings.log_format)
