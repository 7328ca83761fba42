"""The wait for an app delete's PreDelete or PostDelete hooks (the `health` step of those
phases): every hook awaited, until the delete's deadline at most, then each outcome recorded.

As Argo CD does (its pre-/post-delete handling keeps the Application until the hooks of the
phase completed), the delete goes on only once every hook of the phase succeeded; completed
hooks are deleted per their delete policy. A hook that failed, or is still running at the
deadline, fails the delete: the app is kept with a DeletionError naming the hook, and
deleting it again runs (or, for one still running, awaits) its hooks again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from reconciler.control.sync.hooks import delete_hook, deletion_wanted
from reconciler.control.sync.operation import HealthStep, HookRecord
from reconciler.control.sync.steps.base import Outcome, StepContext
from reconciler.model.operation import HookPhase, HookType


def settle_delete_hooks(
    ctx: StepContext, step: HealthStep, changed: Mapping[int, HookRecord], waiting: list[str]
) -> Outcome:
    if waiting and step.deadline is not None and time.time() < step.deadline:
        return Outcome(wait=step.backoff(), step=step.waited(), hooks=changed, message=f"waiting for {waiting[0]}")
    records = [changed.get(hook_id, ctx.op.hooks[hook_id]) for hook_id in step.hooks]
    every_one_succeeded = all(r.status == HookPhase.SUCCEEDED for r in records)
    deleted = {
        r.id: delete_hook(ctx.cluster, r)
        for r in records
        if deletion_wanted(r) or (every_one_succeeded and not r.policy_given and r.name and not r.deleted)
    }
    records = [deleted.get(r.id, r) for r in records]
    budget = ctx.op.delete.hook_timeout if ctx.op.delete else 0.0
    problems = tuple(_problem(r, budget) for r in records if r.status != HookPhase.SUCCEEDED)
    lines = tuple(_outcome_line(r) for r in records)
    field = "pre_delete_hooks" if step.phase == HookType.PRE_DELETE else "post_delete_hooks"
    teardown = ctx.op.teardown.add(**{field: lines}, failed=problems)
    return Outcome(hooks={r.id: r for r in records}, teardown=teardown, failed="; ".join(problems))


def _outcome_line(record: HookRecord) -> str:
    line = f"{record.phase} hook {record.display()}: {record.status}"
    line += f" ({record.message})" if record.message else ""
    return line + (", deleted" if record.deleted else "")


def _problem(record: HookRecord, budget: float) -> str:
    what = f"{record.phase} hook {record.display()}"
    if record.status == HookPhase.FAILED:
        return f"{what} failed: {record.message}"
    return (
        f"{what} did not complete within {budget:.0f}s ({record.message or 'running'}); "
        "delete the app again to keep waiting for it"
    )
