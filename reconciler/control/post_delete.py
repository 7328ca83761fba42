"""PostDelete hooks: run after `app delete --cascade` removed an app's resources, and awaited.

    run_post_delete_hooks(services, name, hooks, result, timeout, poll)

As Argo CD's `post-delete-finalizer.argocd.argoproj.io` does, the app is only forgotten once
every PostDelete hook completed; completed hooks are deleted per their delete policy.
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
)
from reconciler.engine.apply_mode import apply_mode
from reconciler.engine.cluster import Cluster, KubeError
from reconciler.engine.hooks import POST_DELETE, Hook
from reconciler.engine.plan import hook_sort_key
from reconciler.health import HealthStatus, assess
from reconciler.model import Application
from reconciler.services import Services

if TYPE_CHECKING:
    from reconciler.control.teardown import Teardown

# Within the API's wait for a worker's answer (60 s) with the resource deletes before it.
POST_DELETE_HOOK_TIMEOUT = 40.0
POST_DELETE_HOOK_POLL = 0.5
# The operation mark (hook_runner.HOOK_OPERATION_ANNOTATION) of hooks an app delete created.
POST_DELETE_MARK = "post-delete"


def run_post_delete_hooks(
    services: Services, name: str, hooks: list[Hook], result: Teardown, timeout: float, poll: float
) -> None:
    """Run the PostDelete hooks once the app's resources are gone and wait (at most `timeout`
    seconds) for each to complete, as Argo CD keeps the Application (its post-delete finalizer)
    until they have. Each hook's outcome goes into the result; completed hooks are deleted per
    their delete policy. A hook that failed, or is still running at the deadline, is a failure:
    the app is kept, with a DeletionError naming the hook, and deleting it again runs (or, for
    one still running, awaits) its hooks again."""
    if not hooks:
        return
    app = load_application(services.store, name)
    cluster = services.clusters.for_destination(app.destination)
    deadline = time.monotonic() + timeout
    records = [_record(index, hook) for index, hook in enumerate(sorted(hooks, key=hook_sort_key))]
    for record in records:
        _start(cluster, app, record, deadline, poll)
    while time.monotonic() < deadline and any(r["status"] in ("Pending", "Running") for r in records):
        for record in records:
            if record["status"] == "Running":
                _check(cluster, record)
        if any(r["status"] in ("Pending", "Running") for r in records):
            time.sleep(poll)
    for record in records:
        delete_hook_by_policy(cluster, record)
        outcome = f"PostDelete hook {hook_display(record)}: {record['status']}"
        outcome += f" ({record['message']})" if record.get("message") else ""
        outcome += ", deleted" if record.get("deleted") else ""
        result.post_delete_hooks.append(outcome)
    problems = [_problem(record, timeout) for record in records if record["status"] != "Succeeded"]
    if problems:
        result.failed.extend(problems)
        services.store.set_deletion_problem(name, "; ".join(problems))


def _record(index: int, hook: Hook) -> dict[str, Any]:
    meta = hook.meta
    return {
        "id": index, "phase": POST_DELETE, "apiVersion": hook.obj.get("apiVersion", ""),
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
            waiting = create_hook(cluster, app.name, record, POST_DELETE_MARK, mode)
            if not waiting or time.monotonic() >= deadline:
                break
            record["message"] = waiting
            time.sleep(poll)
    except KubeError as exc:
        record.update(status="Failed", message=f"could not be created: {exc}")
    if record["status"] == "Pending":
        record.update(status="Failed", message=f"not created: {record['message']}")


def _running_instance(cluster: Cluster, app_name: str, record: dict[str, Any]) -> dict[str, Any] | None:
    for live in previous_instances(cluster, app_name, record):
        annotations = (live.get("metadata") or {}).get("annotations") or {}
        started_here = annotations.get(HOOK_OPERATION_ANNOTATION, "").startswith(f"{POST_DELETE_MARK}/")
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
    health = assess(live)
    if health.status == HealthStatus.Healthy:
        record.update(status="Succeeded", message=health.message or "completed")
    elif health.status == HealthStatus.Degraded:
        record.update(status="Failed", message=health.message or "failed")
    else:
        record["message"] = health.message or health.status.value


def _problem(record: dict[str, Any], timeout: float) -> str:
    what = f"PostDelete hook {hook_display(record)}"
    if record["status"] == "Failed":
        return f"{what} failed: {record['message']}"
    return (f"{what} did not complete within {timeout:.0f}s ({record['message'] or 'running'}); "
            "delete the app again to keep waiting for it")
