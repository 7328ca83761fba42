"""Delete hooks: PreDelete hooks run before `app delete --cascade` deletes anything, PostDelete
hooks after it removed the app's resources; both are awaited.

    run_delete_hooks(services, name, phase, hooks, result, deadline, budget, poll) -> outcomes

As Argo CD does (its pre-/post-delete handling keeps the Application until the hooks of the
phase completed), the delete goes on only once every hook of the phase completed; completed
hooks are deleted per their delete policy. Both phases of one delete share one deadline, so
the whole delete fits in the API's wait for a worker.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from reconciler.control.catalog import load_application
from reconciler.control.hook_runner import (
    HOOK_OPERATION_ANNOTATION,
    create_hook,
    delete_hook_by_policy,
    hook_display,
    previous_instances,
    settle,
)
from reconciler.engine.apply_mode import apply_mode
from reconciler.engine.cluster import Cluster, KubeError
from reconciler.engine.health.assess import HealthStatus, assess
from reconciler.engine.hooks import POST_DELETE, PRE_DELETE, Hook
from reconciler.engine.plan import hook_sort_key
from reconciler.model import Application
from reconciler.services import Services

if TYPE_CHECKING:
    from reconciler.control.teardown import Teardown

# PreDelete and PostDelete waits together, within the API's wait for a worker's answer (60 s)
# with the resource deletes in between.
DELETE_HOOKS_TIMEOUT = 40.0
DELETE_HOOKS_POLL = 0.5
# The operation mark (hook_runner.HOOK_OPERATION_ANNOTATION) of hooks an app delete created,
# per phase: a later delete adopts a hook of its phase still running, never one of the other.
DELETE_MARKS = {PRE_DELETE: "pre-delete", POST_DELETE: "post-delete"}


def run_delete_hooks(
    services: Services, name: str, phase: str, hooks: list[Hook], result: Teardown, deadline: float, budget: float,
    poll: float,
) -> list[str]:
    """Run the hooks of `phase` (PreDelete or PostDelete) and wait, until the monotonic
    `deadline` at most, for each to complete. Returns each hook's outcome; completed hooks are
    deleted per their delete policy. A hook that failed, or is still running at the deadline,
    is a failure: it goes into `result.failed` and the app is kept with a DeletionError naming
    the hook; deleting it again runs (or, for one still running, awaits) its hooks again.
    `budget`: the seconds the deadline allowed, for the message."""
    if not hooks:
        return []
    app = load_application(services.store, name)
    cluster = services.clusters.for_destination(app.destination)
    records = [_record(index, phase, hook) for index, hook in enumerate(sorted(hooks, key=hook_sort_key))]
    for record in records:
        _start(cluster, app, record, deadline, poll)
    while time.monotonic() < deadline and any(r["status"] in ("Pending", "Running") for r in records):
        for record in records:
            if record["status"] == "Running":
                _check(cluster, record)
        if any(r["status"] in ("Pending", "Running") for r in records):
            time.sleep(poll)
    outcomes = []
    for record in records:
        delete_hook_by_policy(cluster, record)
        outcome = f"{phase} hook {hook_display(record)}: {record['status']}"
        outcome += f" ({record['message']})" if record.get("message") else ""
        outcome += ", deleted" if record.get("deleted") else ""
        outcomes.append(outcome)
    problems = [_problem(record, budget) for record in records if record["status"] != "Succeeded"]
    if problems:
        result.failed.extend(problems)
        services.store.set_deletion_problem(name, "; ".join(problems))
    return outcomes


def _record(index: int, phase: str, hook: Hook) -> dict[str, Any]:
    meta = hook.meta
    return {
        "id": index, "phase": phase, "apiVersion": hook.obj.get("apiVersion", ""),
        "kind": hook.obj.get("kind", ""), "namespace": meta.get("namespace") or "", "name": meta.get("name") or "",
        "generateName": meta.get("generateName") or "", "deletePolicies": list(hook.delete_policies),
        "status": "Pending", "message": "", "obj": hook.obj,
    }


def _start(cluster: Cluster, app: Application, record: dict[str, Any], deadline: float, poll: float) -> None:
    """Create the hook, or adopt the instance an earlier delete left running (not killing it)."""
    running = _running_instance(cluster, app.name, record)
    if running is not None:
        meta = running.get("metadata") or {}
        record.update(status="Running", name=meta.get("name", ""), uid=meta.get("uid", ""),
                      message="still running from an earlier delete")
        return
    mode = apply_mode(app, record["obj"])
    try:
        while True:
            waiting = create_hook(cluster, app.name, record, DELETE_MARKS[record["phase"]], mode)
            if not waiting or time.monotonic() >= deadline:
                break
            record["message"] = waiting
            time.sleep(poll)
    except KubeError as exc:
        record.update(status="Failed", message=f"could not be created: {exc}")
    if record["status"] == "Pending":
        record.update(status="Failed", message=f"not created: {record['message']}")


def _running_instance(cluster: Cluster, app_name: str, record: dict[str, Any]) -> dict[str, Any] | None:
    mark = DELETE_MARKS[record["phase"]]
    for live in previous_instances(cluster, app_name, record):
        annotations = (live.get("metadata") or {}).get("annotations") or {}
        started_here = annotations.get(HOOK_OPERATION_ANNOTATION, "").startswith(f"{mark}/")
        gone = (live.get("metadata") or {}).get("deletionTimestamp")
        if started_here and not gone and assess(live).status not in (HealthStatus.Healthy, HealthStatus.Degraded):
            return live
    return None


def _check(cluster: Cluster, record: dict[str, Any]) -> None:
    try:
        live = cluster.get(record["apiVersion"], record["kind"], record.get("namespace") or None, record["name"])
    except KubeError as exc:
        record["message"] = str(exc)
        return
    if live is None:
        record.update(status="Failed", message="deleted by someone before it completed")
        return
    settle(record, live)


def _problem(record: dict[str, Any], budget: float) -> str:
    what = f"{record['phase']} hook {hook_display(record)}"
    if record["status"] == "Failed":
        return f"{what} failed: {record['message']}"
    return (f"{what} did not complete within {budget:.0f}s ({record['message'] or 'running'}); "
            "delete the app again to keep waiting for it")
