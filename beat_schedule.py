"""Per-application poll schedules for `celery beat`.

Run as `celery -A workers.celery_app beat -S beat_schedule:AppPollScheduler` (which is what
`reconciler beat` does). The schedule lives in Redis, not in beat: a sorted set of each
app's next poll time. Every tick claims the due apps atomically (a Lua script), so two
beat processes started by mistake never double a poll, and apps added or removed by the
CLI, the API or an app-of-apps sync are seen on the next tick without a restart. Each
app polls at its own interval (annotation `reconciler.io/poll-interval`, else
RECONCILER_POLL_INTERVAL, default 180 s) stretched by up to 10 % jitter.

The same tick sends the ApplicationSets whose generation is due (their own Redis schedule:
each run sets its next time from its generators' requeueAfterSeconds), and hands out due
retries (sync requests deferred with backoff), which are kept in Redis rather than as long
Celery countdowns (see workers/celery_app.py), and every 15 s it re-queues sync requests that
a dead operation left waiting behind its expired lock, and resumes (or ends) operations whose
next task was lost (control/watchdog.py).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.beat import Scheduler

from reconciler.control.watchdog import end_stalled_operations, resume_stalled_operations, stalled_deletes
from reconciler.settings import Settings
from reconciler.state import Store
from reconciler.state.connection import redis_endpoint

log = logging.getLogger("reconciler.beat")

TICK_SECONDS = 1.0
CLAIM_BATCH = 500
POLL_JITTER = 0.1
ORPHAN_SWEEP_SECONDS = 15.0  # a scan of the pending-sync keys: cheap, but not every second
APPSET_LEASE_SECONDS = 300.0  # a generation whose task was lost is sent again after this
# A notification no task touched for this long is queued again (its task was lost).
STALE_NOTIFICATION_SECONDS = 120.0


def run_tick(store: Store, send: Any, poll_interval: float, now: float | None = None) -> int:
    """Send the polls and retries due at `now`; returns how many tasks were sent."""
    now = time.time() if now is None else now
    sent = 0
    while True:
        due = store.claim_due_polls(now, poll_interval, limit=CLAIM_BATCH, jitter=POLL_JITTER)
        for name in due:
            send("reconciler.poll", args=(name,), queue="poll")
        sent += len(due)
        if len(due) < CLAIM_BATCH:
            break
    for request in store.claim_deferred(now):
        send("reconciler.sync", args=(request,), queue="sync")
        sent += 1
    # ApplicationSets due for generation; each is leased ahead until its run sets the next time.
    for name in store.claim_due_appsets(now, APPSET_LEASE_SECONDS):
        send("reconciler.appset", args=(name,), queue="poll")
        sent += 1
    for delivery_id in store.take_ready_deliveries():
        send("reconciler.notify", args=(delivery_id,), queue="notifications")
        sent += 1
    return sent


def sweep_orphaned_syncs(store: Store, send: Any) -> int:
    """Queue sync requests left behind by operations that died without releasing them."""
    requests = store.take_orphaned_pending_syncs()
    for request in requests:
        send("reconciler.sync", args=(request,), queue="sync")
    return len(requests)


class AppPollScheduler(Scheduler):
    """A beat scheduler whose entries are the registered applications, read from Redis."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings: Settings = getattr(self.app.conf, "reconciler_settings", None) or Settings.from_env()
        self.poll_interval = settings.poll_interval
        self.store = Store.connect(redis_endpoint(settings))
        self._last_sweep = 0.0

    def setup_schedule(self) -> None:
        """No static entries: the schedule is the Redis sorted set."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            run_tick(self.store, self.app.send_task, self.poll_interval)
            if time.monotonic() - self._last_sweep > ORPHAN_SWEEP_SECONDS:
                self._last_sweep = time.monotonic()
                sweep_orphaned_syncs(self.store, self.app.send_task)
                for op_id, step in resume_stalled_operations(self.store, self.app.conf.reconciler_timings.lock_ttl):
                    self.app.send_task("reconciler.apply", args=(op_id, step), queue="sync")
                self.store.requeue_stale_deliveries(time.time() - STALE_NOTIFICATION_SECONDS)
                for name in end_stalled_operations(self.store):
                    self.app.send_task("reconciler.poll", args=(name,), queue="urgent")
                for request in stalled_deletes(self.store):
                    self.app.send_task("reconciler.delete", args=(request,), queue="urgent")
        except Exception:  # Redis restarting: keep beat alive and try again next tick
            log.exception("beat tick failed; retrying in %ss", TICK_SECONDS)
        return TICK_SECONDS

    @property
    def info(self) -> str:
        return f"    . app schedules in Redis, default interval {self.poll_interval:.0f}s"
