"""A cascade delete begins: a worker runs `start_delete` for the request control/teardown.py made.

    start_delete(services, request, lock_ttl) -> [Next]

The delete's id is the request's id, and its lock token: it waits (the caller is told so)
while a sync holds the app; the sync's end queues it again (end.py). Once it holds the lock,
the app's PreDelete and PostDelete hooks are rendered and compile.py makes its steps.
"""

from __future__ import annotations

import logging
import time

from reconciler.control.requests import Next
from reconciler.control.sync.compile import compile_delete
from reconciler.control.sync.drive import next_for, resume_point, unexpected
from reconciler.control.sync.operation import DeleteRequest, Operation, OperationKind, Teardown
from reconciler.control.sync.ports import OperationBook
from reconciler.control.sync.start import OPERATION_TTL_SECONDS
from reconciler.control.teardown import REPLY_TTL_SECONDS, DeleteRefused, delete_hooks_of
from reconciler.engine.hooks import POST_DELETE, PRE_DELETE
from reconciler.services import Services
from reconciler.state import Store

log = logging.getLogger("reconciler.delete")


def start_delete(services: Services, request: DeleteRequest, lock_ttl: float) -> list[Next]:
    """Begin the cascade delete `request` asks for (its id is the operation's id and lock token),
    or leave it waiting while a sync holds the app (that sync's end hands it on)."""
    store = services.store
    name, op_id = request.app, request.request_id
    existing, manifest = store.operation(op_id), store.app_manifest(name)
    if existing is not None and (existing.get("ended") or manifest is None):
        # Delivered again after its delete ran, or after it removed the app: the delete's own
        # end answers the caller, and a "not found" from this copy would be read first.
        return []
    if manifest is None:
        store.put_reply(op_id, {"found": False}, REPLY_TTL_SECONDS)
        return []
    book = OperationBook(store)
    if store.lock_holder(name) == op_id and store.renew_lock(name, op_id, lock_ttl):
        op = book.load(op_id)
        if op is not None:  # redelivered after it started: carry on, do not start again
            resume = resume_point(op, -1)
            return [] if resume is None else [next_for(op, resume)]
    elif not store.acquire_lock(name, op_id, lock_ttl):
        _defer(store, name, request)
        return []
    try:
        op = _prepare(services, request)
    except DeleteRefused as exc:  # a delete hook the project forbids: nothing runs, the app is kept
        store.set_deletion_problem(name, str(exc))
        store.release_lock(name, op_id)
        store.clear_delete_request(name)
        store.put_reply(op_id, {"found": True, "teardown": Teardown(failed=(str(exc),)).to_json()}, REPLY_TTL_SECONDS)
        return [Next("poll", (name,), urgent=True)]  # its status shows the DeletionError
    except Exception as exc:  # a bug or an unhandled input: the delete ends, the lock goes
        log.exception("delete preparation failed unexpectedly", extra={"app": name, "operation": op_id})
        store.release_lock(name, op_id)
        store.clear_delete_request(name)
        store.put_reply(op_id, {"found": True, "teardown": Teardown(failed=(unexpected(exc),)).to_json()},
                        REPLY_TTL_SECONDS)
        return []
    book.put(op, OPERATION_TTL_SECONDS)
    log.info("delete started", extra={"app": name, "operation": op_id})
    return [next_for(op, 0)]


def _defer(store: Store, name: str, request: DeleteRequest) -> None:
    holder = store.lock_holder(name) or "?"
    message = (
        f"application {name!r} is being synced (operation {holder}): it is deleted once that operation ends; "
        f"`reconciler app terminate-op {name}` stops it sooner"
    )
    log.info("delete waits for the running operation", extra={"app": name, "operation": holder})
    store.put_reply(request.request_id, {"found": True, "deferred": message}, REPLY_TTL_SECONDS)


def _prepare(services: Services, request: DeleteRequest) -> Operation:
    store = services.store
    name = request.app
    started = time.time()
    teardown = Teardown()
    hooks, skipped = delete_hooks_of(services, name)
    pre = [hook for hook in hooks if PRE_DELETE in hook.phases]
    post = [hook for hook in hooks if POST_DELETE in hook.phases]
    if pre and store.pre_delete_done(name):
        done = "completed in an earlier delete, not run again"
        teardown = teardown.add(pre_delete_hooks=tuple(f"PreDelete hook {hook.describe()}: {done}" for hook in pre))
        pre = []
    compiled = compile_delete(
        pre, post, children=store.children_of(name), deadline=started + request.hook_timeout
    )
    return Operation(
        id=request.request_id,
        app=name,
        kind=OperationKind.DELETE,
        delete=request,
        steps=tuple(compiled.steps),
        hooks=tuple(compiled.hooks),
        started_at=started,
        message="deleting",
        teardown=teardown.add(skipped=skipped),
    )


