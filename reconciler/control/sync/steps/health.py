"""`health`: wait until a wave's objects are healthy (its new CRDs Established and their kinds
served) and its hooks completed, before anything after it. A wait is the step run again
after a countdown, never a sleep.

A Degraded object fails the sync at once; one not healthy after HEALTH_WAIT_SECONDS fails it
too. A hook that fails fails the sync (the first failure counts), unless the step waits for
every hook (`every_hook`: SyncFail hooks, an app delete's hooks), which records each outcome
first, as gitops-engine awaits every SyncFail hook.
"""

from __future__ import annotations

import time
from typing import Any

from reconciler.control.sync.hooks import check_hooks
from reconciler.control.sync.operation import HealthStep, ObjectRef
from reconciler.control.sync.steps.base import Outcome, StepContext
from reconciler.control.sync.steps.create_hooks import DELETE_PHASES
from reconciler.control.sync.steps.delete_hooks import settle_delete_hooks
from reconciler.engine.cluster import Cluster, UnknownKindError
from reconciler.engine.health.assess import HealthStatus, assess
from reconciler.engine.health.rules.configured import Customizations
from reconciler.model.operation import HookType
from reconciler.model.resources import ResourceKey

HEALTH_WAIT_SECONDS = 300.0  # a wave that is not healthy by then fails the sync


def run_health(ctx: StepContext, step: HealthStep) -> Outcome:
    customizations = ctx.services.customizations()
    waiting: list[str] = []
    for ref in step.refs:
        problem, degraded = _object_state(ctx.cluster, ref, customizations)
        if degraded:
            return Outcome(failed=f"wave {step.wave}: {degraded}")
        if problem:
            waiting.append(problem)
    records = {hook_id: ctx.op.hooks[hook_id] for hook_id in step.hooks}
    changed, hooks_waiting, failures = check_hooks(ctx.cluster, records, customizations, every=step.every_hook)
    if step.phase in DELETE_PHASES:
        return settle_delete_hooks(ctx, step, changed, hooks_waiting)
    if failures and not (step.every_hook and hooks_waiting):
        # One failure ends a wave; SyncFail hooks (every_hook) are all awaited, then all reported.
        failed = "one or more SyncFail hooks failed: " if step.phase == HookType.SYNC_FAIL else ""
        return Outcome(hooks=changed, failed=failed + "; ".join(failures))
    if not waiting and not hooks_waiting:
        return Outcome(hooks=changed)
    if waiting and step.since is not None and time.time() - step.since > HEALTH_WAIT_SECONDS:
        failed = f"wave {step.wave} not healthy after {HEALTH_WAIT_SECONDS:.0f}s: {waiting[0]}"
        return Outcome(hooks=changed, failed=failed)
    first = (waiting + hooks_waiting)[0]
    message = f"{step.phase} wave {step.wave}: waiting for {first}"
    return Outcome(wait=step.backoff(), step=step.waited(), hooks=changed, message=message)


def _object_state(cluster: Cluster, ref: ObjectRef, customizations: Customizations) -> tuple[str, str]:
    """(what is awaited, "" when ready; why it is Degraded, "" when it is not)."""
    live = cluster.get(ref.api_version, ref.kind, ref.namespace or None, ref.name)
    if live is None:
        return f"{ref.kind} {ref.name} is missing", ""
    key = ResourceKey.of(live)
    health = assess(live, customizations)
    if health.status == HealthStatus.Degraded:
        return "", f"{key} is Degraded: {health.message}"
    if health.status not in (HealthStatus.Healthy, HealthStatus.Suspended):
        return f"{key} is {health.status.value}", ""
    if ref.kind == "CustomResourceDefinition":
        return crd_kind_unserved(cluster, live), ""
    return "", ""


def crd_kind_unserved(cluster: Cluster, crd: dict[str, Any]) -> str:
    """"" when the kind the (Established) CRD defines is in discovery, else what is awaited.
    Discovery is asked again for that kind: a new CRD must not wait for a cache TTL."""
    spec = crd.get("spec") or {}
    group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("served", True)]
    if not group or not kind or not versions:
        return ""
    version = next((v for v in versions if v.get("storage")), versions[0]).get("name")
    api_version = f"{group}/{version}"
    cluster.forget_kind(api_version, kind)
    try:
        cluster.resource_type(api_version, kind)
    except UnknownKindError:
        return f"kind {kind} ({api_version}) to be served (its CRD is Established, discovery does not list it yet)"
    return ""
