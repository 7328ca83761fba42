"""The steps of an app delete between its hook phases, and its last one.

    delete-children   PreDelete is done (never run again); each child app's own cascade delete
                      is asked for and queued, then awaited: gone, or kept with its reason
    delete-resources  every object of the app's inventory that still carries its tracking
                      (uid precondition; Delete=false and helm.sh/resource-policy: keep stay)
    deregister        the app and all of its state are forgotten

A child's or a resource's failure is recorded in the delete's result; the delete fails after
`delete-resources` (the PostDelete hooks do not run) and the app is kept.
"""

from __future__ import annotations

import time

from reconciler.control.notifications import notify_app_event
from reconciler.control.sync.operation import DeleteChildrenStep, DeleteResourcesStep, DeregisterStep
from reconciler.control.sync.steps.base import Outcome, StepContext
from reconciler.control.teardown import next_delete, request_delete
from reconciler.engine.cluster import KubeError
from reconciler.engine.compare import owned_by
from reconciler.engine.crds import foreign_instances
from reconciler.engine.plan import keeps_on_delete
from reconciler.model.operation import HookType
from reconciler.model.resources import ResourceKey

CHILDREN_GRACE_SECONDS = 20.0  # beyond the delete's hook timeout, for the children's own deletes


def run_delete_children(ctx: StepContext, step: DeleteChildrenStep) -> Outcome:
    deletions = ctx.deletions
    if not step.requested:
        if any(hook.phase == HookType.PRE_DELETE for hook in ctx.op.hooks):
            deletions.mark_pre_delete_done(ctx.app.name)  # every one completed, or this step would not run
        timeout = ctx.op.delete.hook_timeout if ctx.op.delete else 0.0
        follow = tuple(next_delete(request_delete(deletions, child, timeout)) for child in step.children)
        if not follow:
            return Outcome()
        return Outcome(wait=0.2, step=step.waited(requested=True), follow=follow, message="deleting child apps")
    failures: list[str] = []
    waiting: list[str] = []
    for child in step.children:
        if deletions.app_manifest(child) is None:
            continue
        problem = deletions.deletion_problem(child)
        if problem and deletions.delete_request(child) is None:
            failures.append(f"child application {child!r} kept: {problem}")
        else:
            waiting.append(child)
    budget = (ctx.op.delete.hook_timeout if ctx.op.delete else 0.0) + CHILDREN_GRACE_SECONDS
    if waiting and time.time() < ctx.op.started_at + budget:
        message = f"waiting for child app {waiting[0]} to be deleted"
        return Outcome(wait=step.backoff(), step=step.waited(), message=message)
    failures += [
        f"child application {child!r} is still being deleted after {budget:.0f}s; delete {ctx.app.name!r} again "
        "once it is gone" for child in waiting
    ]
    return Outcome(teardown=ctx.op.teardown.add(children=step.children, failed=tuple(failures)))


def run_delete_resources(ctx: StepContext, step: DeleteResourcesStep) -> Outcome:
    name = ctx.app.name
    found: dict[str, list[str]] = {"resources": [], "skipped": [], "failed": []}
    for entry_id, entry in sorted(ctx.inventory.inventory(name).items()):
        key = ResourceKey.from_inventory_id(entry_id)
        try:
            verdict, text = _delete_one(ctx, key, entry)
        except KubeError as exc:
            verdict, text = "failed", str(exc)
        if verdict in found:
            found[verdict].append(text)
    teardown = ctx.op.teardown.add(**{field: tuple(texts) for field, texts in found.items()})
    return Outcome(teardown=teardown, failed="; ".join(teardown.failed))


def _delete_one(ctx: StepContext, key: ResourceKey, entry: dict[str, str]) -> tuple[str, str]:
    """Delete one inventory object: ("resources", key) when deleted, ("gone", ""), or ("skipped" or
    "failed", why): the result field it goes into."""
    name, cluster = ctx.app.name, ctx.cluster
    live = cluster.get(entry["apiVersion"], key.kind, key.namespace or None, key.name)
    if live is None:
        ctx.inventory.remove_from_inventory(name, [key.inventory_id])
        return "gone", ""
    if not owned_by(live, name):
        return "skipped", f"{key}: no longer carries this app's tracking"
    foreign = foreign_instances(cluster, name, live) if key.kind == "CustomResourceDefinition" else []
    if foreign:
        return "failed", (
            f"{key}: not deleted: it would delete {len(foreign)} object(s) of its kind that application "
            f"{name!r} does not own ({', '.join(foreign[:3])}); delete or move them first"
        )
    if keeps_on_delete(live):
        ctx.inventory.remove_from_inventory(name, [key.inventory_id])
        return "skipped", f"{key}: kept (Delete=false or helm.sh/resource-policy: keep)"
    uid = (live.get("metadata") or {}).get("uid")
    cluster.delete(entry["apiVersion"], key.kind, key.namespace or None, key.name, uid=uid)
    ctx.inventory.remove_from_inventory(name, [key.inventory_id])
    return "resources", str(key)


def run_deregister(ctx: StepContext, step: DeregisterStep) -> Outcome:
    notify_app_event(ctx.services, ctx.app.name, deleting=True)  # on-deleted: decided while its state is there
    ctx.deletions.delete_app(ctx.app.name)
    return Outcome(message="deleted")
