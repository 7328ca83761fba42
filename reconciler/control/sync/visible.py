"""The app's latest sync operation as users see it (`rc:opstate:{app}`), written as it moves."""

from __future__ import annotations

from typing import Any

from reconciler.control.sync.operation import Operation, OperationState
from reconciler.control.sync.ports import OperationStates, read_state
from reconciler.model.operation import OperationPhase


def write_state(states: OperationStates, op: Operation, **changes: Any) -> OperationState | None:
    """Show `op`'s progress (its results and hooks, and `changes`); nothing when a newer operation
    owns the visible state. Returns what was written."""
    current = read_state(states, op.app)
    if current is not None and current.id not in ("", op.id):
        return None
    stopping = current is not None and current.phase == OperationPhase.TERMINATING
    if stopping and changes.get("phase") == OperationPhase.RUNNING:
        changes = {**changes, "phase": OperationPhase.TERMINATING}  # asked to stop: it says so until it ends
    state = (current or OperationState(id=op.id)).with_(
        id=op.id,
        revision=op.revision,
        resources=op.results + op.skipped,
        hooks=tuple(record.public() for record in op.hooks),
        **changes,
    )
    states.put_operation_state(op.app, state.to_json())
    return state
