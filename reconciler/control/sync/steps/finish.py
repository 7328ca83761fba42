"""`finish`: register the child apps an app-of-apps renders, then the sync ends (end.py).

A child the parent no longer renders is forgotten when the sync prunes; one carrying Argo
CD's resources finalizer is deleted with its resources, by a delete operation of its own
that this step queues (it does not wait for it).
"""

from __future__ import annotations

from reconciler.control.children import reconcile_children
from reconciler.control.sync.operation import FinishStep
from reconciler.control.sync.steps.base import Outcome, StepContext
from reconciler.control.teardown import next_delete


def run_finish(ctx: StepContext, step: FinishStep) -> Outcome:
    if ctx.op.failure:  # the SyncFail hooks ran: the sync itself failed
        return Outcome(message=ctx.op.failure)
    message, deletes = reconcile_children(
        ctx.services, ctx.app.name, list(ctx.op.children), prune=ctx.op.prune_children
    )
    return Outcome(message=message or "successfully synced", follow=tuple(next_delete(d) for d in deletes))
