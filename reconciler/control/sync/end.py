"""An operation ends: record how, release the app, say what runs next.

    end_sync(services, op, phase, message, retry) -> [Next]
    end_delete(services, op, message) -> [Next]

A sync that Succeeded appends history; one that failed schedules a retry when the app's
policy allows (its state stays Running with `nextRetryAt`), or marks the revision an
automated sync must not try again. Hooks go by their delete policy. Then the lock is
released and the operation cut down to a stub, and what waited for the app runs: a delete
asked for meanwhile (it goes first: no sync starts on an app being deleted), else a sync.
events.py is told in each case.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from reconciler.control import fencing
from reconciler.control.catalog import UnknownApplication, load_application
from reconciler.control.notifications import notify_app_event
from reconciler.control.requests import Next
from reconciler.control.sync.events import delete_ended, operation_ended
from reconciler.control.sync.hooks import delete_by_policy
from reconciler.control.sync.operation import DeleteRequest, HookRecord, Operation, OperationKind
from reconciler.control.sync.ports import OperationBook
from reconciler.control.sync.visible import write_state
from reconciler.control.teardown import REPLY_TTL_SECONDS, next_delete
from reconciler.engine.cluster import KubeError
from reconciler.engine.pipeline import revisions_of
from reconciler.model import Application, SpecError, effective_retry, retry_delay, should_retry
from reconciler.model.operation import HookPhase, OperationPhase
from reconciler.services import Services
from reconciler.source.render import source_fingerprint

log = logging.getLogger("reconciler.sync")

# An ended operation is cut down to a stub (step -1: no step of it runs again), kept this long
# for redelivered steps; its steps, which hold every object it applied, go at once.
ENDED_OPERATION_TTL_SECONDS = 3600


def fingerprint_marker(revision: str, app: Application) -> str:
    return f"{revision}:{source_fingerprint(app)}"


def end_sync(
    services: Services, op: Operation, *, phase: OperationPhase, message: str, retry: bool
) -> list[Next]:
    store = services.store
    request = op.sync_request
    now = time.time()
    changes: dict[str, object] = {
        "phase": phase, "message": message, "finished_at": now, "retry_count": request.retry_count,
    }
    if phase == OperationPhase.SUCCEEDED and op.due:
        app = load_application(store, op.app)
        store.append_history(
            op.app,
            {
                "revision": op.revision,
                "deployedAt": now,
                "deployStartedAt": op.started_at or now,
                "source": op.source,
                # A multi-source app's composite revision, one per source (a one-element list otherwise).
                "revisions": revisions_of(op.revision),
                "initiatedBy": request.trigger,
                "operation": op.id,  # appended once, however often a failover retries the finish
            },
            limit=app.revision_history_limit,
        )
        store.clear_failed(op.app)
    elif retry:
        changes.update(_retry_or_mark_failed(services, op, message, now))
    op = op.with_hooks(_delete_finished_hooks(services, op))
    if op.confirm_prune:
        store.clear_prune_confirmation(op.app)  # a confirmation is for one operation
    state = write_state(store, op, **changes)
    if state is not None:
        operation_ended(store, op.app, state)
        notify_app_event(services, op.app)  # notifications: an operation ended (control/notifications/events.py)
    fencing.release(services, op.app, op.id)
    store.release_lock(op.app, op.id)
    OperationBook(store).end(op.id, op.app, OperationPhase(str(changes["phase"])), ENDED_OPERATION_TTL_SECONDS)
    return [Next("poll", (op.app,), urgent=True), *_waiting_for(services, op.app)]


def _retry_or_mark_failed(services: Services, op: Operation, message: str, now: float) -> dict[str, object]:
    """Schedule the retry the app's policy allows (the state changes that say so), or mark the
    revision an automated sync failed on."""
    store = services.store
    request = op.sync_request
    app = _try_load(services, op.app)
    policy = effective_retry(app) if app else None
    if app is not None and policy is not None and should_retry(policy, request.retry_count):
        delay = retry_delay(policy, request.retry_count)
        retry_request = dataclasses.replace(
            request, trigger="retry", retry_count=request.retry_count + 1, retry_of=op.id,
            revision=op.revision or request.revision, requested_at=now,
        )
        store.defer(retry_request.to_dict(), at=now + delay)
        return {
            "phase": OperationPhase.RUNNING,
            "retry_count": request.retry_count + 1,
            "next_retry_at": now + delay,
            "message": f"{message} (retrying attempt #{request.retry_count + 1} in {delay:.0f}s)",
        }
    if app is not None and request.trigger in ("auto", "selfheal", "retry") and op.revision:
        store.mark_failed(op.app, fingerprint_marker(op.revision, app))
    return {}


def _waiting_for(services: Services, app_name: str) -> list[Next]:
    """What waited for the app's lock: a delete asked for meanwhile, else a remembered sync."""
    store = services.store
    requested = store.delete_request(app_name)
    if requested is not None:
        dropped = store.take_pending_sync(app_name)
        if dropped:
            log.info("remembered sync dropped: the app is being deleted", extra={"app": app_name})
        return [next_delete(DeleteRequest.model_validate(requested))]
    pending = store.take_pending_sync(app_name)
    return [Next("sync", (pending,), urgent=True)] if pending else []


def _delete_finished_hooks(services: Services, op: Operation) -> dict[int, HookRecord]:
    """HookSucceeded / HookFailed hooks go once the operation ends; a failure to delete one is
    written on the hook, not raised (the sync's outcome stands)."""
    if not any(r.status.completed for r in op.hooks):
        return {}
    app = _try_load(services, op.app)
    if app is None:
        return {}
    try:
        cluster = services.clusters.for_destination(app.destination)
    except KubeError:
        return {}
    return delete_by_policy(cluster, op.hooks)


def end_delete(services: Services, op: Operation, message: str = "") -> list[Next]:
    """An app delete ends: deregistered (its last step ran, `message` empty), or kept with
    `message` (what failed) in its result; the caller waiting for it gets the result."""
    store = services.store
    teardown = op.teardown
    deleted = store.app_manifest(op.app) is None
    follow: list[Next] = []
    if not deleted:
        if message and message not in "; ".join(teardown.failed):
            teardown = teardown.add(failed=(message,))
        if _hooks_failed(op) or store.pre_delete_done(op.app):
            store.set_deletion_problem(op.app, "; ".join(teardown.failed))
        store.clear_delete_request(op.app)
        if store.take_pending_sync(op.app):
            log.info("remembered sync dropped: the app is being deleted", extra={"app": op.app})
        follow.append(Next("poll", (op.app,), urgent=True))  # its next status shows the DeletionError
    store.release_lock(op.app, op.id)
    OperationBook(store).end(
        op.id, op.app, OperationPhase.SUCCEEDED if deleted else OperationPhase.FAILED, ENDED_OPERATION_TTL_SECONDS
    )
    if op.delete is not None:
        store.put_reply(op.delete.request_id, {"found": True, "teardown": teardown.to_json()}, REPLY_TTL_SECONDS)
    delete_ended(store, op.app, teardown)
    return follow


def _hooks_failed(op: Operation) -> bool:
    """A delete hook failed, or had not completed by the deadline (one never started does not count)."""
    return any(record.status in (HookPhase.FAILED, HookPhase.RUNNING) for record in op.hooks)


def end_kind(services: Services, op: Operation, *, phase: OperationPhase, message: str, retry: bool) -> list[Next]:
    """End `op` however its kind ends (a delete that ends here did not finish: the app is kept)."""
    if op.kind == OperationKind.DELETE:
        return end_delete(services, op, message)
    return end_sync(services, op, phase=phase, message=message, retry=retry)


def _try_load(services: Services, app_name: str) -> Application | None:
    try:
        return load_application(services.store, app_name)
    except (UnknownApplication, SpecError):
        return None

