"""The two moments other parts of the system hook into (metrics, logs, notifications):

    operation_ended(store, app, state)     a sync operation ended: Succeeded, Failed or Error
                                           (or Running with nextRetryAt: it failed, a retry is due)
    delete_ended(store, app, teardown)     an app delete ended: the app is gone, or kept
                                           (teardown.failed says why)

Every way an operation ends comes through here: the drive's end (end.py) and the watchdog
that ends an operation whose worker was lost (control/watchdog.py).
"""

from __future__ import annotations

import logging

from reconciler.control.sync.operation import OperationState, Teardown
from reconciler.model.operation import OperationPhase
from reconciler.state import Store
from reconciler.telemetry import record_sync

log = logging.getLogger("reconciler.sync")


def operation_ended(store: Store, app: str, state: OperationState) -> None:
    retrying = state.phase == OperationPhase.RUNNING and state.next_retry_at is not None
    log.log(
        logging.INFO if state.phase == OperationPhase.SUCCEEDED else logging.WARNING,
        "sync %s: %s", "will retry" if retrying else state.phase, state.message,
        extra={"app": app, "operation": state.id, "revision": state.revision, "phase": state.phase.value},
    )
    if not retrying:
        record_sync(store, app, state.phase)


def delete_ended(store: Store, app: str, teardown: Teardown) -> None:
    if teardown.failed:
        log.warning("delete failed, app kept: %s", "; ".join(teardown.failed), extra={"app": app})
    else:
        log.info("deleted with %d resource(s)", len(teardown.resources), extra={"app": app})
