"""Forgetting an application, and with `cascade` deleting what it deployed.

Deletion is as careful as prune: only objects in the app's inventory that still carry
its tracking are deleted, each with a uid precondition.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from reconciler.control.catalog import UnknownApplication, load_application, project_for
from reconciler.control.hook_runner import (
    HOOK_OPERATION_ANNOTATION,
    create_hook,
    delete_hook_by_policy,
    hook_display,
    previous_instances,
)
from reconciler.engine.apply_mode import apply_mode
from reconciler.engine.cluster import Cluster, KubeError
from reconciler.engine.compare import owned_by
from reconciler.engine.crds import foreign_instances
from reconciler.engine.hooks import POST_DELETE, Hook
from reconciler.engine.pipeline import AccessDenied, desired
from reconciler.engine.plan import hook_sort_key, keeps_on_delete
from reconciler.health import HealthStatus, assess
from reconciler.model import Application, SpecError
from reconciler.model.resources import ResourceKey
from reconciler.services import Services
from reconciler.source.git.client import GitError
from reconciler.source.render import RenderError

# Within the API's wait for a worker's answer (60 s) with the resource deletes before it.
POST_DELETE_HOOK_TIMEOUT = 40.0
POST_DELETE_HOOK_POLL = 0.5
# The operation mark (hook_runner.HOOK_OPERATION_ANNOTATION) of hooks an app delete created.
POST_DELETE_MARK = "post-delete"


@dataclass
class Teardown:
    deleted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    post_delete_hooks: list[str] = field(default_factory=list)  # each PostDelete hook and its outcome


def delete_application(
    services: Services,
    name: str,
    *,
    cascade: bool,
    hook_timeout: float = POST_DELETE_HOOK_TIMEOUT,
    hook_poll: float = POST_DELETE_HOOK_POLL,
) -> Teardown:
    """Deregister `name`; with `cascade`, first delete its resources and its child apps', then
    run its PostDelete hooks and wait for them (at most `hook_timeout` seconds).

    Raises UnknownApplication when no such app is registered. When a cascade delete
    fails for some object, or a PostDelete hook fails or does not finish in time, the app
    stays registered so nothing is orphaned silently.
    """
    store = services.store
    if store.app_manifest(name) is None:
        raise UnknownApplication(name)
    result = Teardown()
    if cascade:
        for child in store.children_of(name):
            child_result = delete_application(services, child, cascade=True)
            result.children.append(child)
            result.failed.extend(child_result.failed)
        hooks = _post_delete_hooks(services, name, result)
        _delete_resources(services, name, result)
        if result.failed:
            return result
        _run_post_delete_hooks(services, name, hooks, result, hook_timeout, hook_poll)
        if result.failed:
            return result
    store.delete_app(name)
    return result


def _delete_resources(services: Services, name: str, result: Teardown) -> None:
    try:
        app = load_application(services.store, name)
    except (UnknownApplication, SpecError) as exc:
        result.failed.append(f"{name}: {exc}")
        return
    cluster = services.clusters.for_destination(app.destination)
    for entry_id, entry in sorted(services.store.inventory(name).items()):
        key = ResourceKey.from_inventory_id(entry_id)
        try:
            live = cluster.get(entry["apiVersion"], key.kind, key.namespace or None, key.name)
            if live is None:
                services.store.remove_from_inventory(name, [entry_id])
                continue
            if not owned_by(live, name):
                result.skipped.append(f"{key}: no longer carries this app's tracking")
                continue
            foreign = foreign_instances(cluster, name, live) if key.kind == "CustomResourceDefinition" else []
            if foreign:
                result.failed.append(
                    f"{key}: not deleted: it would delete {len(foreign)} object(s) of its kind that application "
                    f"{name!r} does not own ({', '.join(foreign[:3])}); delete or move them first"
                )
                continue
            if keeps_on_delete(live):
                services.store.remove_from_inventory(name, [entry_id])
                result.skipped.append(f"{key}: kept (Delete=false or helm.sh/resource-policy: keep)")
                continue
            uid = (live.get("metadata") or {}).get("uid")
            cluster.delete(entry["apiVersion"], key.kind, key.namespace or None, key.name, uid=uid)
        except KubeError as exc:
            result.failed.append(str(exc))
            continue
        services.store.remove_from_inventory(name, [entry_id])
        result.deleted.append(str(key))


def _post_delete_hooks(services: Services, name: str, result: Teardown) -> list[Hook]:
    """The app's PostDelete hooks, rendered before anything is deleted. A render that fails
    does not keep the app (its repository may be gone): the result says the hooks did not run."""
    try:
        app = load_application(services.store, name)
        project, problem = project_for(services.store, app)
        cluster = services.clusters.for_destination(app.destination)
        state = desired(
            app, project, services.git, cluster_scoped=cluster.cluster_scoped_kinds(),
            cache=(services.store.cached_render, services.store.cache_render), project_problem=problem,
        )
    except (UnknownApplication, SpecError, AccessDenied, GitError, RenderError, KubeError) as exc:
        result.skipped.append(f"{name}: PostDelete hooks not run: cannot render the app: {exc}")
        return []
    return [hook for hook in state.hooks if POST_DELETE in hook.phases]


def _run_post_delete_hooks(
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
