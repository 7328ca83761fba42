"""A sync begins: take the app's lock, compare, plan, compile the steps, store the operation.

    start_sync(services, request, lock_ttl, op_id) -> [Next]

Nothing is applied here. A sync the policy, the project or a sync window refuses ends at
once (Failed, no retry); one whose inputs cannot be read (git, render, cluster) ends Failed
and retries by the app's backoff.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from reconciler.control import fencing
from reconciler.control.catalog import UnknownApplication, load_application
from reconciler.control.comparing import compare_registered
from reconciler.control.requests import Next, SyncRequest
from reconciler.control.sync.compile import compile_sync
from reconciler.control.sync.drive import effective_app, next_for, resume_point, unexpected
from reconciler.control.sync.end import end_sync, fingerprint_marker
from reconciler.control.sync.operation import Operation, OperationState, ResourceResult
from reconciler.control.sync.ports import OperationBook
from reconciler.control.windows import sync_allowed
from reconciler.core.errors import InputError, ReconcilerError
from reconciler.engine.cluster import KubeError
from reconciler.engine.pipeline import AccessDenied
from reconciler.engine.plan import build_plan
from reconciler.live.reader import LiveStateReader
from reconciler.model import Application, SpecError, recorded_source
from reconciler.model.operation import OperationPhase, ResultCode
from reconciler.model.resources import ResourceKey
from reconciler.services import Services
from reconciler.state import Store

log = logging.getLogger("reconciler.sync")

OPERATION_TTL_SECONDS = 24 * 3600


class SyncRefused(InputError):
    """The sync must not run at all (policy, access control, invalid input); nothing is applied."""


@dataclass(frozen=True)
class _Started:
    op_id: str
    started_at: float


def start_sync(services: Services, request: SyncRequest, lock_ttl: float, op_id: str = "") -> list[Next]:
    """Begin a sync operation, or remember the request when another operation holds the app.

    `op_id` should be stable across redeliveries of the same request (the task id): a worker
    that dies while preparing leaves the lock to that id, and the redelivered request
    resumes under it instead of waiting behind its own dead operation.
    """
    store = services.store
    if op_id and (store.operation(op_id) or {}).get("ended"):
        # Delivered again after its operation ended (a worker that lost Redis before it could
        # acknowledge the task): starting it afresh would sync its request a second time, after
        # (and perhaps backwards from) the operations since.
        log.info("sync start redelivered after its operation ended: nothing to do", extra={"operation": op_id})
        return []
    store.clear_queued(request.app)
    try:
        app = load_application(store, request.app)
    except (UnknownApplication, SpecError):
        return []
    last_operation = store.operation_state(app.name)
    if request.trigger == "retry" and (last_operation or {}).get("id") != request.retry_of:
        return []  # another sync ran since the failure: this retry is stale
    if store.delete_request(app.name) is not None or store.deletion_problem(app.name):
        # Argo CD: an app with a deletionTimestamp does not sync (a retry queued before the delete).
        log.info("sync dropped: the app is being deleted", extra={"app": app.name, "trigger": request.trigger})
        return []
    op_id = op_id or uuid.uuid4().hex
    resumed = store.lock_holder(app.name) == op_id and store.renew_lock(app.name, op_id, lock_ttl)
    if resumed:
        prepared = OperationBook(store).load(op_id)
        if prepared is not None:  # the worker died after preparing: carry on, do not plan again
            resume = resume_point(prepared, -1)
            return [] if resume is None else [next_for(prepared, resume)]
    if not resumed and not store.acquire_lock(app.name, op_id, lock_ttl):
        store.remember_pending_sync(app.name, request.to_dict())
        log.info("sync remembered: another operation holds the app", extra={"app": app.name})
        return []
    if not resumed and _already_synced(store, request):
        store.release_lock(app.name, op_id)
        log.info("sync dropped: an automated sync of this revision already ran", extra={"app": app.name})
        return []
    try:
        refused = fencing.claim(services, app, op_id, lock_ttl, probably_new=last_operation is None)
    except KubeError as exc:
        bare = Operation(id=op_id, app=app.name, request=request.to_dict(), revision=request.revision)
        return end_sync(services, bare, phase=OperationPhase.FAILED, message=str(exc), retry=True)
    if refused is not None:  # the Redis lock was lost in a failover; the cluster says who still syncs
        store.release_lock(app.name, op_id)
        store.remember_pending_sync(app.name, request.to_dict())
        return []
    log.info("sync started", extra={"app": app.name, "operation": op_id, "trigger": request.trigger})
    return _begin(services, app, request, _Started(op_id, time.time()))


def _begin(services: Services, app: Application, request: SyncRequest, started: _Started) -> list[Next]:
    store = services.store
    state = OperationState(
        id=started.op_id, phase=OperationPhase.RUNNING, message="sync started", trigger=request.trigger,
        started_at=started.started_at, revision=request.revision, retry_count=request.retry_count,
    )
    store.put_operation_state(app.name, state.to_json())
    bare = Operation(id=started.op_id, app=app.name, request=request.to_dict(), revision=request.revision)
    try:
        op = prepare(services, app, request, started)
    except SyncRefused as exc:
        return end_sync(services, bare, phase=OperationPhase.FAILED, message=str(exc), retry=False)
    except ReconcilerError as exc:
        return end_sync(services, bare, phase=OperationPhase.FAILED, message=str(exc), retry=True)
    except Exception as exc:  # a bug or an unhandled input: the operation ends, it never stays Running
        log.exception("sync preparation failed unexpectedly", extra={"app": app.name, "operation": started.op_id})
        return end_sync(services, bare, phase=OperationPhase.ERROR, message=unexpected(exc), retry=False)
    OperationBook(store).put(op, OPERATION_TTL_SECONDS)
    store.put_operation_state(app.name, state.with_(revision=op.revision, message=op.message).to_json())
    return [next_for(op, 0)]


def prepare(services: Services, app: Application, request: SyncRequest, started: _Started) -> Operation:
    """Compare, plan and compile: the operation to store (raises SyncRefused when it must not run)."""
    app = effective_app(app, request)
    store = services.store
    permission = sync_allowed(store, app, manual=request.trigger in ("user", "rollback"))
    if not permission.allowed:
        raise SyncRefused(permission.reason)
    try:
        result = compare_registered(
            services,
            app,
            revision=request.revision,
            fresh_refs=_wants_newest_commit(request),
            # What the last poll verified: unchanged objects, and missing ones it just dry-ran.
            verified=(store.status(app.name) or {}).get("verified") or {},
            # The watcher's index, as for a poll (Argo CD syncs from its watch-fed cache too): no
            # LIST per kind, each of which scans every object of the kind on the server. Where
            # the index cannot vouch for a kind or namespace, the cluster is listed as before.
            live=LiveStateReader(store, services.clusters.for_destination(app.destination).server),
        )
    except AccessDenied as exc:
        raise SyncRefused(str(exc)) from None
    if result.refused:
        raise SyncRefused(result.refused)
    desired, comparison = result.desired, result.comparison
    try:
        selected = {ResourceKey.from_inventory_id(s) for s in request.resources} or None
    except ValueError as exc:
        raise SyncRefused(f"resources: {exc}") from None
    plan = build_plan(
        app, desired.objects, comparison.diffs, prune=request.prune, resources=selected, hooks=desired.hooks
    )
    if plan.refused:
        raise SyncRefused(plan.refused)
    live = {r.key: r.diff.live for r in comparison.resources if r.diff.live is not None}
    compiled = compile_sync(app, plan, live, desired.objects)
    prune_enabled = request.prune if request.prune is not None else bool(
        app.sync_policy.automated and app.sync_policy.automated.prune
    )
    hooks = f", {len(compiled.hooks)} hook(s)" if compiled.hooks else ""
    return Operation(
        id=started.op_id,
        app=app.name,
        request=request.to_dict(),
        revision=desired.revision,
        source=recorded_source(app),
        marker=fingerprint_marker(desired.revision, app),
        steps=tuple(compiled.steps),
        started_at=started.started_at,
        children=tuple(desired.child_apps),
        prune_children=prune_enabled,
        message=f"syncing {len(plan.apply_keys)} to apply, {len(plan.prune_keys)} to prune{hooks}",
        hooks=tuple(compiled.hooks),
        sync_fail_steps=tuple(compiled.sync_fail_steps),
        confirm_prune=tuple(k.inventory_id for k in plan.confirm_prune),
        due=request.trigger != "selfheal" or bool(plan.apply_keys or plan.prune_keys or compiled.hooks),
        skipped=tuple(
            ResourceResult(resource=str(key), status=ResultCode.PRUNE_SKIPPED, message=why)
            for key, why in plan.prune_skipped
        ),
    )


def _wants_newest_commit(request: SyncRequest) -> bool:
    # A person asking for a sync expects the newest commit, not one the shared ref listing
    # cached a few seconds ago; automated syncs already carry the revision their poll saw.
    return request.trigger in ("user", "rollback") and not request.revision


def _already_synced(store: Store, request: SyncRequest) -> bool:
    """An automated sync of the revision the last sync deployed: two polls that both saw the app
    OutOfSync before the first sync took the lock each asked for one. Argo CD attempts one
    automated sync per revision; the second is stale once the first has run (checked under
    the lock, where the first's history entry is written)."""
    if request.trigger != "auto" or not request.revision:
        return False
    last = store.last_history_entry(request.app)
    return bool(last) and str(last.get("revision")) == request.revision
