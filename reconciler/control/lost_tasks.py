"""Tasks whose worker process was lost every time they ran: ended with a condition, not rerun.

Celery redelivers a task whose worker died (acks_late, reject_on_worker_lost): right for a
worker killed by a node going away, wrong for a task that kills its worker itself every
time, which would then be redelivered forever while the app shows nothing. workers/tasks.py
counts each start of a task in Redis; past MAX_STARTS it calls `give_up` instead of running
the task, which acknowledges it and says why where the app's users look:

    reconciler.poll             a ComparisonError condition on the app (and a poll after backoff)
    reconciler.sync/apply/prune the app's operation ends in Error, its lock released (a delete's
                                caller is answered with the failure)
    reconciler.delete           the delete's caller is answered with the failure, the app kept
    reconciler.appset           an ErrorOccurred condition on the ApplicationSet
    reconciler.cluster_request  the waiting API request is answered with the failure
"""

from __future__ import annotations

import logging
import time
from typing import Any

from reconciler.control.poll import report_failed_poll
from reconciler.control.sync.end import ENDED_OPERATION_TTL_SECONDS
from reconciler.control.sync.operation import DeleteRequest, Teardown
from reconciler.services import Services
from reconciler.telemetry import record_sync

log = logging.getLogger("reconciler.lost_tasks")

MAX_STARTS = 3
_REPLY_TTL_SECONDS = 300.0


def lost_message(what: str, app: str, starts: int) -> str:
    return (
        f"the {what} of application {app!r} was started {starts} times and each time its worker process "
        "was lost (killed, out of memory or past RECONCILER_TASK_TIME_LIMIT); it is not run again: "
        "look at the worker's log for what it was doing, fix that in the app's source, then refresh or sync"
    )


def give_up(services: Services, task: str, args: tuple[Any, ...], task_id: str, starts: int) -> str:
    """End the task `task` (its name) with `args` for good; returns the app it concerned ("" unknown)."""
    store = services.store
    if task == "reconciler.poll":
        app = str(args[0])
        report_failed_poll(services, app, "ComparisonError", lost_message("poll", app, starts))
    elif task in ("reconciler.sync", "reconciler.apply", "reconciler.prune"):
        op_id = task_id if task == "reconciler.sync" else str(args[0])
        operation = store.operation(op_id) or {}
        app = str(operation.get("app") or (args[0].get("app") if isinstance(args[0], dict) else "") or "")
        if app:
            _end_operation(services, app, op_id, lost_message("sync", app, starts))
    elif task == "reconciler.delete":
        request = DeleteRequest.model_validate(args[0])
        app = request.app
        _end_delete(services, request.app, request.request_id, lost_message("delete", app, starts))
    elif task == "reconciler.appset":
        app = str(args[0])
        status = store.appset_status(app) or {}
        condition = {"type": "ErrorOccurred", "status": "True", "reason": "ApplicationGenerationFromParamsError",
                     "message": lost_message("generation", app, starts).replace("application", "ApplicationSet", 1)}
        store.write_appset_status(app, {**status, "conditions": [condition]})
    elif task == "reconciler.cluster_request":
        params = args[2] if len(args) > 2 and isinstance(args[2], dict) else {}
        app = str(params.get("name") or "")
        failure = lost_message(f"{args[1]} request", app, starts)
        store.put_reply(str(args[0]), {"failed": failure}, _REPLY_TTL_SECONDS)
    elif task == "reconciler.preview":
        app = ""
        record = store.preview(str(args[0]))
        if record is not None and record.get("state") in ("queued", "running"):
            message = f"the preview's worker was lost {starts} times (killed, out of memory); not run again"
            store.put_preview(str(args[0]), {**record, "state": "failed", "error": message})
    else:
        app = ""
    log.error("task given up after %d starts with lost workers", starts,
              extra={"app": app, "task": task, "task_id": task_id})  # fmt: skip
    return app


def _end_delete(services: Services, app: str, request_id: str, message: str) -> None:
    store = services.store
    store.put_reply(request_id, {"found": True, "teardown": Teardown(failed=(message,)).to_json()}, _REPLY_TTL_SECONDS)
    store.clear_delete_request(app)
    store.release_lock(app, request_id)


def _end_operation(services: Services, app: str, op_id: str, message: str) -> None:
    store = services.store
    pending_delete = store.delete_request(app)
    if pending_delete is not None and DeleteRequest.model_validate(pending_delete).request_id == op_id:
        _end_delete(services, app, op_id, message)  # the operation was an app delete
    state = store.operation_state(app) or {}
    if state.get("id") in (None, op_id) and state.get("phase") in (None, "Running"):
        store.put_operation_state(app, {**state, "id": op_id, "phase": "Error", "message": message,
                                        "finishedAt": time.time()})  # fmt: skip
        record_sync(store, app, "Error")
    store.release_lock(app, op_id)
    store.end_operation(op_id, app, "Error", ENDED_OPERATION_TTL_SECONDS)
