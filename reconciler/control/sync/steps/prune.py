"""`prune`: delete one prune wave's objects, re-checking ownership right before each delete;
`pruned`: wait until they are gone before anything after the wave starts.

An object is deleted only while it is still in the app's inventory, still carries the app's
tracking, and is the very object the plan saw (uid precondition). A CRD whose kind still has
objects the app does not own is not deleted (the API server would delete them too). Targets
marked Prune=confirm wait for `app confirm-prune`.

A delete only starts an object's end: a Pod terminates for its grace period (its preStop
hook runs meanwhile), foreground deletion waits for dependents, finalizers run. As
gitops-engine does, the next wave waits until the pruned objects are gone (no time limit:
`app terminate-op` stops a wait on an object that never goes).
"""

from __future__ import annotations

from typing import Any

from reconciler.control.sync.compile import is_crd
from reconciler.control.sync.operation import PrunedStep, PruneStep, PruneTarget, ResourceResult
from reconciler.control.sync.steps.base import Outcome, StepContext
from reconciler.engine.cluster import KubeError
from reconciler.engine.compare import owned_by
from reconciler.engine.crds import foreign_instances
from reconciler.model import Application
from reconciler.model.operation import ResultCode


def run_prune(ctx: StepContext, step: PruneStep) -> Outcome:
    app = ctx.app
    confirm = set(ctx.op.confirm_prune)
    needing = [t for t in step.targets if t.key.inventory_id in confirm]
    if needing and not ctx.confirmations.prune_confirmed(app.name):
        names = ", ".join(str(t.key) for t in needing[:3])
        return Outcome(
            wait=step.backoff(base=1.0),
            step=step.waited(),
            message=f"waiting for `reconciler app confirm-prune {app.name}` to delete {names} (Prune=confirm)",
        )
    inventory = ctx.inventory.inventory(app.name)
    results: list[ResourceResult] = []
    errors: list[str] = []
    for target in step.targets:
        result, error = _prune_one(ctx, target, inventory.get(target.key.inventory_id), prune_propagation(app))
        results.append(result)
        if error:
            errors.append(error)
    failed = "one or more objects failed to prune: " + "; ".join(errors) if errors else ""
    return Outcome(results=tuple(results), failed=failed)


def _prune_one(
    ctx: StepContext, target: PruneTarget, entry: dict[str, Any] | None, propagation: str
) -> tuple[ResourceResult, str]:
    """The target's result, and the error that fails the sync ("" for none)."""
    key = target.key
    app_name = ctx.app.name

    def result(code: ResultCode, message: str, error: str = "") -> tuple[ResourceResult, str]:
        return ResourceResult(resource=str(key), status=code, message=message), error

    if entry is None:
        return result(ResultCode.PRUNE_SKIPPED, "not in the app's inventory")
    live = ctx.cluster.get(entry["apiVersion"], key.kind, key.namespace or None, key.name)
    if live is None:
        ctx.inventory.remove_from_inventory(app_name, [key.inventory_id])
        return result(ResultCode.PRUNED, "already gone")
    uid = (live.get("metadata") or {}).get("uid", "")
    if not owned_by(live, app_name) or (target.uid and target.uid != uid):
        return result(ResultCode.PRUNE_SKIPPED, "no longer carries this app's tracking")
    foreign = foreign_instances(ctx.cluster, app_name, live) if is_crd(live) else []
    if foreign:
        message = (
            f"not deleted: deleting this CustomResourceDefinition would delete {len(foreign)} object(s) of its "
            f"kind that this app does not own ({', '.join(foreign[:3])}); delete or move them first"
        )
        return result(ResultCode.PRUNE_FAILED, message, f"{key}: {message}")
    try:
        ctx.cluster.delete(
            entry["apiVersion"], key.kind, key.namespace or None, key.name, propagation=propagation, uid=uid
        )
    except KubeError as exc:  # stays in the inventory: pruned again next time
        return result(ResultCode.PRUNE_FAILED, str(exc), str(exc))
    ctx.inventory.remove_from_inventory(app_name, [key.inventory_id])
    return result(ResultCode.PRUNED, "pruned")


def run_pruned(ctx: StepContext, step: PrunedStep) -> Outcome:
    going = [target for target in step.targets if _still_there(ctx, target)]
    if not going:
        return Outcome()
    message = f"prune wave {step.wave}: waiting for {going[0].key} to be deleted"
    if len(going) > 1:
        message += f" (and {len(going) - 1} more)"
    return Outcome(wait=step.backoff(), step=step.waited(), message=message)


def _still_there(ctx: StepContext, target: PruneTarget) -> bool:
    """The very object pruned (same uid) still exists; one never found or of another kind is not awaited."""
    if not target.api_version:
        return False
    live = ctx.cluster.get(target.api_version, target.kind, target.namespace or None, target.name)
    if live is None:
        return False
    return not target.uid or (live.get("metadata") or {}).get("uid") == target.uid


def prune_propagation(app: Application) -> str:
    value = (app.sync_policy.option("PrunePropagationPolicy") or "foreground").lower()
    return {"background": "Background", "orphan": "Orphan"}.get(value, "Foreground")
