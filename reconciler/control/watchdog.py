"""Operations whose steps stopped advancing are resumed, or ended, so no sync stays Running
forever, and app deletes nothing runs are handed on again.

Resumed first: an operation whose record (its steps, state/operations.py) is still there lost
only the task that would run its next step, as when a Redis primary died before its replica
received the queued message. Its lock is taken again under the operation's id and its current
step queued, so it carries on from its last committed step (the step's own fence check in the
cluster still decides whether it may write). An operation without a record is ended.

A running operation always holds its app's lock (taken before its state says Running,
released after its state says how it ended), and every step renews it. So an operation
whose state says Running while the lock is gone, or held by another token, lost its last
task for good: its worker died and the broker will not redeliver (or the task was purged).
Celery redelivers a lost task within the visibility timeout, which is shorter than the lock
TTL, so when the lock has expired there is nothing left to wait for.

A failed sync waiting for its retry is Running without a lock on purpose (`nextRetryAt`):
the deferred retry owns it, so it is left alone.

A cascade delete asked for while nothing holds the app's lock lost its task the same way
(or the sync it waited for died): it is queued again (`stalled_deletes`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from reconciler.control.sync.events import operation_ended
from reconciler.control.sync.operation import DeleteRequest, OperationState
from reconciler.model.operation import OperationPhase
from reconciler.state import Store

log = logging.getLogger("reconciler.watchdog")

STARTUP_GRACE_SECONDS = 30.0  # an operation this young may still be taking its lock


def resume_stalled_operations(store: Store, lock_ttl: float, now: float | None = None) -> list[tuple[str, int]]:
    """(operation id, step) of each stalled operation that can carry on, its lock taken again."""
    now = time.time() if now is None else now
    resumed = []
    for app, state in store.operation_states(store.app_names()).items():
        if not state or state.get("phase") != "Running" or state.get("nextRetryAt"):
            continue
        if now - float(state.get("startedAt") or now) < STARTUP_GRACE_SECONDS or store.lock_holder(app) is not None:
            continue
        op = store.operation(str(state.get("id")))
        step = (op or {}).get("step")
        if not op or op.get("ended") or not isinstance(step, int) or not 0 <= step < len(op.get("steps") or []):
            continue
        if store.acquire_lock(app, op["id"], lock_ttl):
            log.warning("operation resumed by the watchdog at step %s: its next task was lost", step,
                        extra={"app": app, "operation": op["id"]})
            resumed.append((op["id"], step))
    return resumed


def end_stalled_operations(store: Store, now: float | None = None) -> list[str]:
    """End (phase Error) every operation that can no longer advance; returns their app names."""
    now = time.time() if now is None else now
    ended = []
    for app, raw in store.operation_states(store.app_names()).items():
        state = OperationState.model_validate(raw) if raw else None
        if state is None or state.phase.completed or state.next_retry_at is not None:
            continue
        if now - float(state.started_at or now) < STARTUP_GRACE_SECONDS:
            continue
        if store.lock_holder(app) == state.id:
            continue
        message = (
            "the operation stopped advancing: its lock expired with no step running (a worker was lost "
            "and its task not redelivered); sync again"
        )
        state = state.with_(phase=OperationPhase.ERROR, message=message, finished_at=now)
        store.put_operation_state(app, {**raw, **state.to_json()})
        operation_ended(store, app, state)
        ended.append(app)
    return ended


def stalled_deletes(store: Store, now: float | None = None) -> list[dict[str, Any]]:
    """Cascade deletes asked for a while ago that no operation holds the app for: each request
    (JSON) to queue again (starting one twice is safe: the first takes the lock)."""
    now = time.time() if now is None else now
    stalled = []
    for app, raw in store.delete_requests().items():
        request = DeleteRequest.model_validate(raw)
        if now - request.requested_at >= STARTUP_GRACE_SECONDS and store.lock_holder(app) is None:
            log.warning("delete handed on again: nothing ran it", extra={"app": app, "operation": request.request_id})
            stalled.append(raw)
    return stalled
