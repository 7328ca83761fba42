"""`apply`: write one chunk of a wave's objects, as their sync options say.

Each object's outcome is a resource result (Synced, or SyncFailed with the server's answer);
every object of the chunk is tried. What was written joins the app's inventory, and the
server's answers are noted so the next poll takes them as verified. A custom resource whose
kind is not served yet waits (SkipDryRunOnMissingResource) within a time limit.
"""

from __future__ import annotations

import time
from typing import Any

from reconciler.control.apply_options import Written, write_object
from reconciler.control.sync.operation import ApplyStep, ObjectRef, ResourceResult
from reconciler.control.sync.steps.base import Outcome, StepContext
from reconciler.engine.cluster import KubeError, UnknownKindError
from reconciler.engine.served_kinds import not_served_error, skips_dry_run_on_missing
from reconciler.engine.verified_marks import verified_mark
from reconciler.model.operation import ResultCode
from reconciler.model.resources import ResourceKey


def run_apply(ctx: StepContext, step: ApplyStep) -> Outcome:
    results: list[ResourceResult] = []
    errors: list[str] = []
    tracked: dict[str, dict[str, Any]] = {}
    verified: dict[str, str] = {}
    unserved: list[str] = []
    for obj in step.objects:
        key = ResourceKey.of(obj)
        try:
            written = _write(ctx, step, obj)
        except UnknownKindError:
            if skips_dry_run_on_missing(ctx.app, obj):
                unserved.append(f"{key}: kind {key.kind} ({obj.get('apiVersion')}) to be served")
                continue
            message = not_served_error(key, obj)
            errors.append(f"{key}: {message}")
            results.append(ResourceResult(resource=str(key), status=ResultCode.SYNC_FAILED, message=message))
            continue
        except KubeError as exc:
            errors.append(str(exc))
            results.append(ResourceResult(resource=str(key), status=ResultCode.SYNC_FAILED, message=str(exc)))
            continue
        if written.wait:
            unserved.append(written.wait)
            continue
        results.append(ResourceResult(resource=str(key), status=ResultCode.SYNCED, message=written.message))
        if step.track:
            tracked[key.inventory_id] = ObjectRef.of(obj).to_json()
        if written.applied is not None:
            # A server-side apply's answer holds our Apply entry for exactly this manifest.
            applied = written.applied if written.server_side else None
            verified[str(key)] = verified_mark(written.applied, obj, ctx.cluster.field_manager, applied)
    ctx.inventory.add_to_inventory(ctx.app.name, tracked)
    ctx.inventory.note_applied(ctx.app.name, verified)
    if errors:
        return Outcome(results=tuple(results), failed="one or more objects failed to apply: " + "; ".join(errors))
    if unserved:
        return _wait_for_kinds(ctx, step, unserved, tuple(results))
    return Outcome(results=tuple(results))


def _write(ctx: StepContext, step: ApplyStep, obj: dict[str, Any]) -> Written:
    if step.track:
        return write_object(ctx.cluster, ctx.app, obj)
    ctx.cluster.apply(obj)  # the namespace of CreateNamespace=true: not the app's, no options of its own
    return Written("applied")


def _wait_for_kinds(
    ctx: StepContext, step: ApplyStep, unserved: list[str], results: tuple[ResourceResult, ...]
) -> Outcome:
    """SkipDryRunOnMissingResource: someone else installs the CRD; wait for it, within a limit."""
    timeout = ctx.settings.missing_kind_timeout
    if step.since is not None and time.time() - step.since > timeout:
        failed = f"waited {timeout:.0f}s for {unserved[0]}"
        if "to be served" in unserved[0]:
            failed += "; install its CustomResourceDefinition"
        return Outcome(results=results, failed=failed)
    first = unserved[0]
    message = first if first.startswith("Force=true") else f"SkipDryRunOnMissingResource: waiting for {first}"
    return Outcome(wait=step.backoff(), step=step.waited(), message=message)
