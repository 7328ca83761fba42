"""Celery tasks: thin shells that fetch a `Services`, call `reconciler/`, and enqueue what
the core says runs next. No reconcile logic lives here.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Any

import redis
from celery import Task

from reconciler import telemetry
from reconciler.control.appsets.reconcile import run_generation
from reconciler.control.cluster_requests import answer
from reconciler.control.lost_tasks import MAX_STARTS, give_up
from reconciler.control.notifications import deliver, notify_app_event
from reconciler.control.poll import refresh
from reconciler.control.previews import lifecycle as previews
from reconciler.control.previews.request import PreviewRequest
from reconciler.control.requests import Next, SyncRequest
from reconciler.control.sync.delete_start import start_delete
from reconciler.control.sync.drive import run_step
from reconciler.control.sync.operation import DeleteRequest
from reconciler.control.sync.start import start_sync
from reconciler.services import Services
from reconciler.settings import Settings
from reconciler.state import Store
from workers.celery_app import TaskTimings, app

log = logging.getLogger("reconciler.tasks")

_services: Services | None = None
_services_guard = threading.Lock()


def services() -> Services:
    """This worker process's clients, made on first use (after the prefork fork, on purpose:
    sockets and the Helm engine's runtime do not survive a fork)."""
    global _services
    with _services_guard:
        if _services is None:
            settings: Settings = app.conf.reconciler_settings
            _services = Services.create(settings)
        return _services


def reset_services() -> None:
    """Drop this process's clients (after `configure` pointed the app elsewhere)."""
    global _services
    with _services_guard:
        if _services is not None:
            _services.close()
        _services = None


def timings() -> TaskTimings:
    return app.conf.reconciler_timings  # type: ignore[no-any-return]


class Counted(Task):  # type: ignore[misc]
    """A task whose starts are counted: past MAX_STARTS (each earlier start lost its worker, or
    the task would have ended and reset the count) it is acknowledged without running, with a
    condition naming the app (control/lost_tasks.py), instead of being redelivered forever."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        task_id = self.request.id
        if not task_id:  # called directly, not from a queue
            return super().__call__(*args, **kwargs)
        store = services().store
        # Kept past the redeliveries of one message: visibility timeout plus its restore sweep.
        starts = store.count_start(task_id, ttl_seconds=4 * timings().visibility_timeout)
        if starts > MAX_STARTS:
            give_up(services(), self.name, args, task_id, starts - 1)
            store.forget_starts(task_id)
            return None
        try:
            return super().__call__(*args, **kwargs)
        finally:
            store.forget_starts(task_id)


def dispatch(nexts: list[Next]) -> None:
    """Enqueue what the core asked for, on the queue each kind of work belongs to, and
    publish this process's request counters (every task ends here)."""
    svc = services()
    telemetry.flush_soon(svc.store, svc.git.counters, svc.clusters)
    send_ready_notifications(svc)
    for item in nexts:
        if item.task == "poll":
            poll.apply_async(args=item.args, queue="urgent" if item.urgent else "poll")
        elif item.task == "sync":
            sync.apply_async(args=item.args, queue="urgent" if item.urgent else "sync")
        elif item.task == "delete":
            delete.apply_async(args=item.args, queue="urgent")
        elif item.task == "prune":
            prune.apply_async(args=item.args, queue="sync", countdown=item.countdown or None)
        else:
            apply.apply_async(args=item.args, queue="sync", countdown=item.countdown or None)


def send_ready_notifications(svc: Services) -> int:
    """Hand the notifications decided since (rc:notify-ready) to the `notifications` queue."""
    if not svc.settings.notifications_file:
        return 0
    ready = svc.store.take_ready_deliveries()
    for delivery_id in ready:
        notify.apply_async(args=(delivery_id,), queue="notifications")
    return len(ready)


def request_sync(store: Store, request: SyncRequest) -> bool:
    """Queue a sync. Automated and webhook requests for an app already queued coalesce into
    the queued one (it resolves the newest revision when it starts); a user's request is
    always queued. Returns whether a task was sent."""
    if request.trigger in ("auto", "selfheal") and not store.mark_queued(
        request.app, ttl_seconds=timings().visibility_timeout
    ):
        return False
    queue = "urgent" if request.urgent or request.trigger in ("user", "rollback") else "sync"
    sync.apply_async(args=(request.to_dict(),), queue=queue)
    return True


@app.task(name="reconciler.poll", base=Counted, bind=True, ignore_result=True)
def poll(self: Task, app_name: str, revision: str | None = None, fresh: bool = False) -> dict[str, Any] | None:
    """Refresh one app. `fresh` (a push webhook): list the remote's refs now rather than
    from the shared cache, and sync on the urgent queue."""
    svc = services()
    svc.store.clear_live_poll(app_name)  # a change the watcher sees from now on queues another poll
    if fresh:
        # A push that arrives from here on must queue its own poll: this one may have
        # listed the remote's refs before that push landed.
        svc.store.clear_webhook_poll(app_name)
    started = time.monotonic()
    result = None
    try:
        result = refresh(svc, app_name, revision=revision, fresh_refs=fresh)
    finally:
        if result is not None:
            telemetry.buffer_reconcile(time.monotonic() - started)  # goes with this flush
        telemetry.flush_soon(svc.store, svc.git.counters, svc.clusters)
        send_ready_notifications(svc)
    if result is None:
        return None
    if result.sync is not None:
        request_sync(svc.store, dataclasses.replace(result.sync, urgent=fresh))
    status = result.status
    sync_status, health = status.get("sync") or {}, status.get("health") or {}
    log.info(
        "polled: %s, %s", sync_status.get("status"), health.get("status"),
        extra={"app": app_name, "revision": sync_status.get("revision")},
    )
    return {"sync": status.get("sync"), "health": status.get("health")}


# Steps due at once (no countdown) run in the task that finished the step before them, for up
# to this long: a task hop costs more than a small step (Celery events, acks, a Redis round
# trip each). Longer operations go on in new tasks, well inside the time limit.
INLINE_STEPS_SECONDS = 10.0


def _run_due_steps(nexts: list[Next], chain_from: int, started: float) -> list[Next]:
    """Run the operation's next steps here while each is due at once; what remains is enqueued."""
    t = timings()
    while (
        len(nexts) == 1
        and nexts[0].task in ("apply", "prune")
        and not nexts[0].countdown
        and time.monotonic() - started < INLINE_STEPS_SECONDS
    ):
        op_id, index = nexts[0].args
        nexts = run_step(services(), op_id, index, t.lock_ttl, t.max_countdown, chain_from=chain_from)
    return nexts


@app.task(name="reconciler.sync", base=Counted, bind=True, ignore_result=True)
def sync(self: Task, request: dict[str, Any]) -> None:
    started = time.monotonic()
    sync_request = SyncRequest.from_dict(request)
    nexts = start_sync(services(), sync_request, timings().lock_ttl, op_id=self.request.id or "")
    notify_app_event(services(), sync_request.app)  # on-sync-running: the operation just started
    dispatch(_run_due_steps(nexts, -1, started))


@app.task(name="reconciler.delete", base=Counted, bind=True, ignore_result=True)
def delete(self: Task, request: dict[str, Any]) -> None:
    """Begin an app's cascade delete (`app delete --cascade`), or leave it waiting for a running sync."""
    started = time.monotonic()
    nexts = start_delete(services(), DeleteRequest.model_validate(request), timings().lock_ttl)
    dispatch(_run_due_steps(nexts, -1, started))


def enqueue_delete(request: DeleteRequest) -> None:
    delete.apply_async(args=(request.to_json(),), queue="urgent")


def _run_step(task: Task, op_id: str, step: int) -> None:
    t = timings()
    started = time.monotonic()
    redelivered = bool((task.request.delivery_info or {}).get("redelivered"))
    try:
        nexts = run_step(services(), op_id, step, t.lock_ttl, t.max_countdown, redelivered=redelivered)
    except redis.RedisError as exc:
        # Still no primary after the client's retries: run the step again shortly (the retry is
        # published with Celery's own publish retries), rather than leave it to the watchdog.
        raise task.retry(countdown=1, max_retries=10, exc=exc) from None
    dispatch(_run_due_steps(nexts, step, started))


@app.task(name="reconciler.apply", base=Counted, bind=True, ignore_result=True)
def apply(self: Task, op_id: str, step: int) -> None:
    """Apply one chunk of a wave, or wait for a wave's health, or finish the operation."""
    _run_step(self, op_id, step)


@app.task(name="reconciler.prune", base=Counted, bind=True, ignore_result=True)
def prune(self: Task, op_id: str, step: int) -> None:
    """Delete one wave's prune set, re-checking ownership before each delete."""
    _run_step(self, op_id, step)


@app.task(name="reconciler.appset", base=Counted, bind=True, ignore_result=True)
def appset(self: Task, name: str, fresh: bool = False) -> None:
    """Generate one ApplicationSet (reconciler/control/appsets/reconcile.py): one worker per set at
    a time; the syncs a RollingSync step asks for are queued like any other."""
    svc = services()
    svc.store.clear_appset_queued(name)
    try:
        result = run_generation(svc, name, fresh=fresh)
    finally:
        telemetry.flush_soon(svc.store, svc.git.counters, svc.clusters)
    for request in result.syncs if result is not None else []:
        request_sync(svc.store, request)
    for delete_request in result.deletes if result is not None else []:
        enqueue_delete(delete_request)


def queue_appset(store: Store, name: str, *, fresh: bool = False, urgent: bool = False) -> bool:
    """Queue a generation of the set unless one already waits (webhook pushes coalesce into it)."""
    if not store.mark_appset_queued(name, timings().visibility_timeout):
        return False
    appset.apply_async(args=(name,), kwargs={"fresh": fresh}, queue="urgent" if urgent else "poll")
    return True


REPLY_TTL_SECONDS = 300.0


@app.task(name="reconciler.cluster_request", base=Counted, bind=True, ignore_result=True)
def cluster_request(self: Task, request_id: str, kind: str, params: dict[str, Any]) -> None:
    """Cluster work for an API process without cluster credentials; the answer goes back
    through Redis to the API request waiting for it."""
    svc = services()
    try:
        reply, syncs = answer(svc, kind, params)
    except Exception as exc:  # the API says so, instead of waiting out its timeout
        log.exception("cluster request failed", extra={"app": params.get("name"), "kind": kind})
        reply, syncs = {"failed": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}, []
    svc.store.put_reply(request_id, reply, REPLY_TTL_SECONDS)
    for request in syncs:
        request_sync(svc.store, request)
    telemetry.flush_soon(svc.store, svc.git.counters, svc.clusters)


@app.task(name="reconciler.follow_logs", ignore_result=True)
def follow_logs(request_id: str, params: dict[str, Any]) -> None:
    """Follow an app's container logs for an API without cluster credentials: the lines go to
    Redis in a thread of this process (control/views/log_relay.py), this task returns at once."""
    from reconciler.control.views import log_relay
    from reconciler.control.views.requests import log_query

    svc = services()
    try:
        query = log_query(params)
    except ValueError as exc:
        svc.store.add_log_entry(request_id, "error", f"invalid log request: {exc}")
        svc.store.add_log_entry(request_id, "end")
        return
    log_relay.start(svc, request_id, str(params.get("name") or ""), query)


@app.task(name="reconciler.notify", bind=True, ignore_result=True)
def notify(self: Task, delivery_id: str) -> None:
    """Deliver one notification; while its service fails, try again later with backoff (a task
    per try, with a countdown, so the queue keeps moving for every other message)."""
    t = timings()
    wait = deliver(services(), delivery_id, lease_seconds=t.time_limit)
    if wait is not None:
        notify.apply_async(args=(delivery_id,), queue="notifications", countdown=min(wait, t.max_countdown))


@app.task(name="reconciler.preview", base=Counted, bind=True, ignore_result=True)
def preview(self: Task, preview_id: str) -> None:
    """Run one pull-request preview (reconciler/control/previews); never writes to a cluster."""
    svc = services()
    try:
        previews.execute(svc, preview_id)
    finally:
        telemetry.flush_process_counters(svc.store, svc.git.counters, svc.clusters)


def queue_preview(store: Store, request: PreviewRequest) -> str:
    """Record a preview and queue it on the `preview` queue; its id."""
    preview_id = previews.start(store, request)
    preview.apply_async(args=(preview_id,), queue="preview")
    return preview_id
