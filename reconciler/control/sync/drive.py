"""The state machine: run one step of an operation, advance it by compare-and-set, say what
runs next.

    run_step(services, op_id, index, lock_ttl, max_countdown) -> [Next]

An operation's id is its lock token. Every step first renews the lock with that token (the
fencing check): a step whose operation lost the lock writes nothing to a cluster. Steps
advance by compare-and-set on the step index, so a redelivered step (its worker died)
either runs again, which is safe (server-side apply is idempotent; prune re-checks
ownership), or finds the operation already past it and does nothing. A step that has to
wait is stored with its wait state and queued again with a countdown, never a sleep.

When a sync's step fails, its SyncFail hook steps replace what was left (once), then it
ends Failed; a termination asked for by `app terminate-op` ends it before its next step,
stopping the hooks still running.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis

from reconciler.control import fencing
from reconciler.control.catalog import UnknownApplication, load_application
from reconciler.control.requests import Next, SyncRequest
from reconciler.control.sync.codec import UnreadableOperation
from reconciler.control.sync.end import ENDED_OPERATION_TTL_SECONDS, end_kind, end_sync
from reconciler.control.sync.events import delete_ended, operation_ended
from reconciler.control.sync.hooks import terminate_hooks
from reconciler.control.sync.operation import FinishStep, Operation, OperationKind, StepKind
from reconciler.control.sync.ports import OperationBook
from reconciler.control.sync.steps import ENDING_KINDS, RUNNERS
from reconciler.control.sync.steps.base import Outcome, StepContext
from reconciler.control.sync.visible import write_state
from reconciler.control.teardown import REPLY_TTL_SECONDS
from reconciler.core.errors import ReconcilerError
from reconciler.engine.cluster import Cluster, KubeError
from reconciler.model import Application, SpecError, with_source
from reconciler.model.operation import OperationPhase
from reconciler.services import Services

log = logging.getLogger("reconciler.sync")


def unexpected(exc: BaseException) -> str:
    """One line for users about an exception nothing here expected; the traceback goes to the log."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"unexpected {type(exc).__name__} (see the worker log): {text[:300]}"


def effective_app(app: Application, request: SyncRequest | Operation) -> Application:
    """The app as this sync should see it: a rollback syncs the source recorded in history."""
    if isinstance(request, Operation):
        request = request.sync_request
    return app if request.source is None else with_source(app, request.source)


def resume_point(op: Operation, index: int) -> int | None:
    """The step a redelivered copy of the task for step `index` (-1: the task that started the
    operation) must enqueue again: the operation's current step when the task's worker may
    have died before handing it on (the very next step, or any step that task ran itself);
    None for a stale copy whose work another task carries on."""
    if not index < op.step < len(op.steps):
        return None
    if op.step == index + 1 or op.chain_from == index:
        return op.step
    return None


def next_for(op: Operation, index: int, countdown: float = 0.0) -> Next:
    task = "prune" if op.steps[index].type == StepKind.PRUNE else "apply"
    return Next(task=task, args=(op.id, index), countdown=countdown)


def run_step(
    services: Services,
    op_id: str,
    index: int,
    lock_ttl: float,
    max_countdown: float,
    redelivered: bool = False,
    chain_from: int | None = None,
) -> list[Next]:
    """Run step `index`. `chain_from`: the step whose task runs this one in the same task
    (workers run steps due at once back to back, saving a task hop each); -1 for the task
    that started the operation. Recorded with the advance, so a redelivered copy of that
    task knows the steps after it were its own and resumes them (`resume_point`)."""
    store = services.store
    try:
        op = OperationBook(store).load(op_id)
    except UnreadableOperation as exc:
        log.error("operation refused: %s", exc, extra={"operation": op_id})
        return []
    if op is None:
        return []  # finished
    if op.step != index:
        # A copy of a step that already ran. When redelivered (its worker died) after advancing
        # but perhaps before enqueueing or running the next step, enqueue that step again: a
        # duplicate of it only repeats idempotent work and cannot advance the operation twice.
        resume = resume_point(op, index) if redelivered else None
        return [] if resume is None else [next_for(op, resume)]
    op = op.with_(chain_from=index if chain_from is None else chain_from)
    # A lock gone (expired, or lost with a Redis primary) is taken again when free: the cluster's
    # fence, checked before the step writes, decides whether this operation may still write.
    if not store.renew_lock(op.app, op_id, lock_ttl) and not store.acquire_lock(op.app, op_id, lock_ttl):
        return _lost_lock(services, op)
    if store.termination_requested(op_id) and not op.terminated and op.kind == OperationKind.SYNC:
        return _terminate(services, op.with_(terminated=True))
    try:
        outcome = _run(services, op, index, lock_ttl)
    except _FencedOff:
        return _fenced_off(services, op)
    except UnknownApplication:  # forgotten meanwhile (`app delete` without cascade)
        store.release_lock(op.app, op_id)
        if op.delete is not None:
            store.put_reply(op.delete.request_id, {"found": False}, REPLY_TTL_SECONDS)
        return []
    except ReconcilerError as exc:
        return _fail(services, op, index, str(exc), retry=True)
    except redis.RedisError:
        raise  # Redis failing over for longer than the client's retries: the task runs the step again
    except Exception as exc:  # a bug or an unhandled input: the operation ends, it never stays Running
        log.exception("step failed unexpectedly", extra={"app": op.app, "operation": op_id})
        return end_kind(services, op, phase=OperationPhase.ERROR, message=unexpected(exc), retry=False)
    return _advance(services, op, index, outcome, max_countdown)


class _FencedOff(Exception):
    """Another sync operation holds the app's fence in the cluster (engine/cluster/fence.py)."""


def _run(services: Services, op: Operation, index: int, lock_ttl: float) -> Outcome:
    store = services.store
    app = load_application(store, op.app)
    cluster = services.clusters.for_destination(app.destination)
    guard = None
    if op.kind == OperationKind.SYNC:
        app = effective_app(app, op)
        guard = _fence_guard(services, app, cluster, op.id, lock_ttl)
        guard()
    step = op.steps[index]
    ctx = StepContext(
        app=app, cluster=cluster, op=op, index=index,
        settings=services.settings, inventory=store, confirmations=store, deletions=store, services=services,
    )
    with cluster.acting_for(op.id, before_write=guard):  # every write names its operation (User-Agent)
        return RUNNERS[step.type](ctx, step)


def _fence_guard(
    services: Services, app: Application, cluster: Cluster, op_id: str, lock_ttl: float
) -> Callable[[], None]:
    """The check before a step's writes, and again before each write: a step stalled mid-way
    (its Redis riding a failover) while a redelivered copy of it ended the operation and
    released the fence must not write after the next operation took the fence. Free within the
    reuse window of the last renewal (control/fencing.py), one renewal after it."""

    def check() -> None:
        if not fencing.still_held(services, app, cluster, op_id, lock_ttl):
            raise _FencedOff

    return check


def _fenced_off(services: Services, op: Operation) -> list[Next]:
    """Another operation holds the app's fence in the cluster: this one writes nothing more."""
    store = services.store
    message = "another sync operation took over the application's fence in the cluster; this one stopped"
    state = write_state(store, op, phase=OperationPhase.ERROR, message=message)
    if state is not None:
        operation_ended(store, op.app, state)
    store.release_lock(op.app, op.id)
    OperationBook(store).end(op.id, op.app, OperationPhase.ERROR, ENDED_OPERATION_TTL_SECONDS)
    return []


def _advance(services: Services, op: Operation, index: int, outcome: Outcome, max_countdown: float) -> list[Next]:
    book = OperationBook(services.store)
    op = op.with_hooks(dict(outcome.hooks))
    if outcome.teardown is not None:
        op = op.with_(teardown=outcome.teardown)
    follow = list(outcome.follow)
    if outcome.failed:  # what the step did is recorded too: each object's result, the server's message
        op = op.with_(results=op.results + outcome.results)
        return follow + _fail(services, op, index, outcome.failed, retry=True)
    if outcome.wait is not None:
        if outcome.step is not None:
            op = op.with_step(index, outcome.step)
        book.advance(op, index)
        if outcome.message:
            _show(services, op, phase=OperationPhase.RUNNING, message=outcome.message)
        return [*follow, Next("apply", (op.id, index), countdown=min(outcome.wait, max_countdown))]
    op = op.with_(results=op.results + outcome.results)
    step = op.steps[index]
    if step.type in ENDING_KINDS:
        if op.failure:  # the SyncFail hooks ran: the sync itself failed
            return follow + end_sync(services, op, phase=OperationPhase.FAILED, message=op.failure, retry=True)
        return follow + end_kind(services, op, phase=OperationPhase.SUCCEEDED, message=outcome.message, retry=False)
    op = op.with_(step=index + 1)
    if not book.advance(op, index):
        return []
    _show(services, op, phase=OperationPhase.RUNNING, message=f"step {index + 1} of {len(op.steps)} done")
    # Argo CD pauses between waves (2 s there) so controllers see the previous wave's objects.
    delay = services.settings.sync_wave_delay if step.type == StepKind.HEALTH else 0.0
    return [*follow, next_for(op, index + 1, countdown=delay)]


def _show(services: Services, op: Operation, **changes: Any) -> None:
    if op.kind == OperationKind.SYNC:
        write_state(services.store, op, **changes)


def _lost_lock(services: Services, op: Operation) -> list[Next]:
    """Another operation may hold the app now: this one writes nothing more, it says it ended."""
    store = services.store
    message = "the operation lost its lock (it ran longer than the lock TTL)"
    if op.kind == OperationKind.DELETE and op.delete is not None:
        store.put_reply(op.delete.request_id, {"found": True, "failed": message}, REPLY_TTL_SECONDS)
        delete_ended(store, op.app, op.teardown.add(failed=(message,)))
        return []
    state = write_state(store, op, phase=OperationPhase.ERROR, message=message.replace("operation", "sync", 1))
    if state is not None:
        operation_ended(store, op.app, state)
    return []


def _terminate(services: Services, op: Operation) -> list[Next]:
    """`app terminate-op`: running hooks are stopped (terminate_hooks), no SyncFail hook runs,
    and the sync ends Failed."""
    try:
        app = load_application(services.store, op.app)
        cluster = services.clusters.for_destination(app.destination)
        op = op.with_hooks(terminate_hooks(cluster, op.hooks, services.customizations()))
    except (UnknownApplication, SpecError, KubeError) as exc:  # the hooks stay as last seen; the sync still ends
        log.warning("could not stop the running hooks: %s", exc, extra={"app": op.app, "operation": op.id})
    message = "terminated by user"
    if op.failure:
        message = f"{op.failure}; while its SyncFail hooks ran: {message}"
    return end_sync(services, op, phase=OperationPhase.FAILED, message=message, retry=False)


def _fail(services: Services, op: Operation, index: int, message: str, *, retry: bool) -> list[Next]:
    """The operation failed at step `index`: a sync runs its SyncFail hooks first (once), then
    ends Failed; a delete ends, keeping the app."""
    if op.kind == OperationKind.DELETE:
        return end_kind(services, op, phase=OperationPhase.FAILED, message=message, retry=False)
    if op.failure or not op.sync_fail_steps:
        if op.failure:
            message = f"{op.failure}; then its SyncFail hooks: {message}"
        return end_sync(services, op, phase=OperationPhase.FAILED, message=message, retry=retry)
    op = op.with_(
        failure=message,
        sync_fail_steps=(),
        steps=(*op.steps[: index + 1], *op.sync_fail_steps, FinishStep()),
        step=index + 1,
    )
    if not OperationBook(services.store).advance(op, index):
        return []
    _show(services, op, phase=OperationPhase.RUNNING, message=f"{message}; running SyncFail hooks")
    return [next_for(op, index + 1)]
