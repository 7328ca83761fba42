"""`hooks`: create the hooks of one phase and wave (the `health` step after it waits for them).

A sync hook the server refuses fails the sync at once. SyncFail hooks and an app delete's
hooks are all created (a delete's adopted, when an earlier delete left one running) before
any outcome counts: the wait after them records every one. A named hook whose previous
object is still going away (BeforeHookCreation) makes the step wait and look again; an app
delete gives up on it at its deadline.
"""

from __future__ import annotations

import time

from reconciler.control.sync.hooks import adopt_or_create, create_hook
from reconciler.control.sync.operation import HookRecord, HooksStep
from reconciler.control.sync.steps.base import Outcome, StepContext
from reconciler.engine.apply_mode import apply_mode
from reconciler.model.operation import HookPhase, HookType

DELETE_PHASES = (HookType.PRE_DELETE, HookType.POST_DELETE)


def run_hooks(ctx: StepContext, step: HooksStep) -> Outcome:
    deleting = step.phase in DELETE_PHASES
    every = deleting or step.phase == HookType.SYNC_FAIL
    changed: dict[int, HookRecord] = {}
    for hook_id in step.hooks:
        record = ctx.op.hooks[hook_id]
        if record.status != HookPhase.PENDING:
            continue  # created by an earlier run of this step
        mode = apply_mode(ctx.app, record.obj)
        if deleting:
            record, waiting = adopt_or_create(ctx.cluster, ctx.app.name, record, mode, ctx.services.customizations())
        else:
            record, waiting = create_hook(ctx.cluster, ctx.app.name, record, ctx.op.id, mode)
        if waiting and deleting and _past_deadline(ctx):
            record, waiting = record.with_(status=HookPhase.FAILED, message=f"not created: {waiting}"), ""
        changed[record.id] = record
        if waiting:
            return Outcome(wait=step.backoff(), step=step.waited(), hooks=changed, message=waiting)
        if record.status == HookPhase.FAILED and not every:
            return Outcome(hooks=changed, failed=f"{record.phase} hook {record.display()}: {record.message}")
    return Outcome(hooks=changed)


def _past_deadline(ctx: StepContext) -> bool:
    """The app delete's hook deadline (its hook timeout from the start of the delete) is past."""
    return ctx.op.delete is not None and time.time() >= ctx.op.started_at + ctx.op.delete.hook_timeout
