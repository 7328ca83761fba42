"""What an operation does with resource hooks: create, watch, delete (one call each).

A hook's record (operation.py `HookRecord`) is what users see (`app get`, the API, the
dashboard) and what these functions return updated: `status` Pending -> Running (created)
-> Succeeded | Failed, `name` (the server's, for a generateName hook; the one
`unnamed_hook_name` gives a hook with neither), `message`, `deleted`.

Hooks are deleted in the background (their Pods go with them through garbage collection),
and never block the operation: `BeforeHookCreation` of a named hook waits (the step is
re-enqueued) until the old object is gone before creating the new one.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from reconciler.control.sync.operation import HookRecord
from reconciler.engine.apply_mode import ApplyMode, apply_mode, apply_object
from reconciler.engine.cluster import Cluster, KubeError
from reconciler.engine.health.assess import HealthStatus, assess
from reconciler.engine.health.rules.configured import Customizations
from reconciler.engine.hooks import BEFORE_HOOK_CREATION, HOOK_FAILED, HOOK_SUCCEEDED, is_hook
from reconciler.model.operation import HookPhase, HookType
from reconciler.model.resources import TRACKING_ANNOTATION, TRACKING_LABEL, ResourceKey

# On each hook object: "<operation id>/<hook id>", the operation that created it.
HOOK_OPERATION_ANNOTATION = "reconciler.io/hook-operation"
# The operation mark of hooks an app delete created, per phase: a later delete adopts a hook of
# its phase still running, never one of the other.
DELETE_MARKS = {HookType.PRE_DELETE: "pre-delete", HookType.POST_DELETE: "post-delete"}
# A Job's name becomes a label value (job-name), so at most 63 characters.
MAX_HOOK_NAME = 63


def previous_instances(cluster: Cluster, app_name: str, record: HookRecord) -> list[dict[str, Any]]:
    """Live objects an earlier operation created for this hook: the same name, or for a
    generateName hook every object of the kind and namespace with that generateName, tracked
    by this app."""
    namespace = record.namespace or None
    if record.name:
        live = cluster.get(record.api_version, record.kind, namespace, record.name)
        candidates = [live] if live is not None else []
    elif not record.generate_name:
        return []  # not named yet (create_hook names it): nothing identifies its instances
    else:
        candidates = [
            item
            for item in cluster.list(
                record.api_version, record.kind, namespace=namespace, label_selector=f"{TRACKING_LABEL}={app_name}"
            )
            if (item.get("metadata") or {}).get("generateName") == record.generate_name
        ]
    return [
        item
        for item in candidates
        if is_hook(item) and ((item.get("metadata") or {}).get("labels") or {}).get(TRACKING_LABEL) == app_name
    ]


def unnamed_hook_name(app_name: str, record: HookRecord, mark: str) -> str:
    """The name an operation gives a hook with neither metadata.name nor generateName, as Argo
    CD names one (gitops-engine: `<generateName><revision>-<phase>-<start time>`): here
    `<app>-<hash>-<phase>`, the hash of the operation and the hook, so it is new at every sync
    (the hook runs again, as in Argo CD), the same for a redelivered step of that sync (which
    adopts the object instead of creating another), and kept within the 63 characters a
    Job's name may have."""
    digest = hashlib.sha256(f"{mark}/{record.id}".encode()).hexdigest()[:7]
    suffix = f"-{digest}-{str(record.phase.value).lower()}"
    prefix = app_name[: MAX_HOOK_NAME - len(suffix)].rstrip("-.")
    return f"{prefix}{suffix}"


def _started(record: HookRecord, live: dict[str, Any], message: str = "created") -> HookRecord:
    meta = live.get("metadata") or {}
    return record.with_(status=HookPhase.RUNNING, name=meta.get("name", ""), uid=meta.get("uid", ""), message=message)


def create_hook(
    cluster: Cluster, app_name: str, record: HookRecord, mark: str = "", mode: ApplyMode | None = None
) -> tuple[HookRecord, str]:
    """Create the hook of `record`: the record updated, and why to wait and try again ("" when
    done). A hook the server refuses is marked Failed with the server's answer.

    `mark` (the operation's id, or an app delete's DELETE_MARKS) goes on the object with the
    hook's id, so a step redelivered after its worker died between the create and saving the
    record adopts that object instead of creating a second generateName hook. `mode`: how the
    app's sync options say to write it (server- or client-side, field validation)."""
    mode = mode or apply_mode(None, record.obj)
    named_here = not record.name and not record.generate_name
    if named_here:
        record = record.with_(name=unnamed_hook_name(app_name, record, mark))
    generated = not record.name
    namespace = record.namespace or None
    stamp = f"{mark}/{record.id}"
    if (generated or named_here) and mark:
        for live in previous_instances(cluster, app_name, record):
            if ((live.get("metadata") or {}).get("annotations") or {}).get(HOOK_OPERATION_ANNOTATION) == stamp:
                return _started(record, live), ""
    if BEFORE_HOOK_CREATION in record.delete_policies:
        for live in previous_instances(cluster, app_name, record):
            meta = live.get("metadata") or {}
            if not meta.get("deletionTimestamp"):
                cluster.delete(
                    record.api_version, record.kind, namespace, meta["name"], propagation="Background",
                    uid=meta.get("uid"),
                )
        if not generated and cluster.get(record.api_version, record.kind, namespace, record.name) is not None:
            return record, f"waiting for the previous {record.display()} to be deleted (BeforeHookCreation)"
    obj = copy.deepcopy(record.obj)
    meta = obj.setdefault("metadata", {})
    if named_here:
        meta["name"] = record.name
        meta["annotations"] = {
            **(meta.get("annotations") or {}), TRACKING_ANNOTATION: ResourceKey.of(obj).tracking_id(app_name)
        }
    if mark:
        meta["annotations"] = {**(meta.get("annotations") or {}), HOOK_OPERATION_ANNOTATION: stamp}
    try:
        if generated:
            live = cluster.create(obj, field_validation=mode.field_validation)
        else:
            live = apply_object(cluster, obj, mode)
    except KubeError as exc:
        if exc.status == 409 and not generated:
            return record, f"waiting for the previous {record.display()} to be deleted"
        return record.with_(status=HookPhase.FAILED, message=f"could not be created: {exc}"), ""
    return _started(record, live), ""


def settle(record: HookRecord, live: dict[str, Any], customizations: Customizations) -> HookRecord:
    """The record as the hook's live object says (a completed Job or Pod: Succeeded; a failed
    one: Failed; else still running, with its health message)."""
    health = assess(live, customizations)
    if health.status == HealthStatus.Healthy:
        return record.with_(status=HookPhase.SUCCEEDED, message=health.message or "completed")
    if health.status == HealthStatus.Degraded:
        return record.with_(status=HookPhase.FAILED, message=health.message or "failed")
    return record.with_(message=health.message or health.status.value)


def failure_of(record: HookRecord) -> str:
    return f"{record.phase} hook {record.display()} failed: {record.message}"


def check_hooks(
    cluster: Cluster, records: dict[int, HookRecord], customizations: Customizations, *, every: bool = False
) -> tuple[dict[int, HookRecord], list[str], list[str]]:
    """Look at each Running hook's live object: (the records updated, what still runs, the
    failures). By default the first failure ends the look; with `every` each hook is looked at
    and each outcome recorded, and a hook deleted before it completed has failed."""
    updated: dict[int, HookRecord] = {}
    waiting: list[str] = []
    failures: list[str] = []
    for record in records.values():
        if record.status == HookPhase.RUNNING:
            record = _look(cluster, record, customizations, missing_fails=every)
            updated[record.id] = record
        if record.status == HookPhase.FAILED:
            failures.append(failure_of(record))
            if not every:
                return updated, [], failures
        elif record.status == HookPhase.RUNNING:
            waiting.append(f"{record.phase} hook {record.display()} to complete ({record.message or 'running'})")
    return updated, waiting, failures


def _look(
    cluster: Cluster, record: HookRecord, customizations: Customizations, *, missing_fails: bool
) -> HookRecord:
    try:
        live = cluster.get(record.api_version, record.kind, record.namespace or None, record.name)
    except KubeError as exc:
        if not missing_fails:
            raise
        return record.with_(message=str(exc))
    if live is None:
        if missing_fails:
            return record.with_(status=HookPhase.FAILED, message="deleted by someone before it completed")
        return record.with_(message="not found: deleted by someone?")
    return settle(record, live, customizations)


def deletion_wanted(record: HookRecord) -> bool:
    """Whether the hook goes now that the operation is done with it, by its delete policy."""
    if record.deleted or not record.name:
        return False
    policies = record.delete_policies
    return (record.status == HookPhase.SUCCEEDED and HOOK_SUCCEEDED in policies) or (
        record.status == HookPhase.FAILED and HOOK_FAILED in policies
    )


def delete_hook(cluster: Cluster, record: HookRecord) -> HookRecord:
    """Delete the hook's object (in the background); a failure is written on the record, not
    raised (the operation's outcome stands)."""
    try:
        cluster.delete(
            record.api_version, record.kind, record.namespace or None, record.name,
            propagation="Background", uid=record.uid or None,
        )
    except KubeError as exc:
        return record.with_(message=f"{record.message}; could not delete it: {exc}")
    return record.with_(deleted=True)


def delete_by_policy(cluster: Cluster, records: tuple[HookRecord, ...]) -> dict[int, HookRecord]:
    """Delete each completed hook its policy says goes; the records that changed."""
    return {r.id: delete_hook(cluster, r) for r in records if deletion_wanted(r)}


def terminate_hooks(
    cluster: Cluster, records: tuple[HookRecord, ...], customizations: Customizations
) -> dict[int, HookRecord]:
    """As gitops-engine's Terminate: each hook still running is deleted and marked Failed
    ("Terminated"); one that completed meanwhile, or before, keeps its outcome."""
    updated: dict[int, HookRecord] = {}
    for record in records:
        if record.status != HookPhase.RUNNING:
            continue
        try:
            live = cluster.get(record.api_version, record.kind, record.namespace or None, record.name)
        except KubeError as exc:
            message = f"Terminated; could not look at it: {exc}"
            updated[record.id] = record.with_(status=HookPhase.FAILED, message=message)
            continue
        settled = settle(record, live, customizations) if live is not None else record
        if settled.status.completed:
            updated[record.id] = settled
            continue
        terminated = record.with_(status=HookPhase.FAILED, message="Terminated")
        updated[record.id] = delete_hook(cluster, terminated) if live is not None else terminated
    return updated


def running_delete_hook(
    cluster: Cluster, app_name: str, record: HookRecord, customizations: Customizations
) -> dict[str, Any] | None:
    """The instance of this delete hook an earlier app delete started and left running (to be
    awaited, not killed), if any."""
    mark = DELETE_MARKS.get(record.phase, "")
    for live in previous_instances(cluster, app_name, record):
        meta = live.get("metadata") or {}
        started_here = str((meta.get("annotations") or {}).get(HOOK_OPERATION_ANNOTATION, "")).startswith(f"{mark}/")
        if started_here and not meta.get("deletionTimestamp") and assess(live, customizations).status not in (
            HealthStatus.Healthy, HealthStatus.Degraded
        ):
            return live
    return None


def adopt_or_create(
    cluster: Cluster, app_name: str, record: HookRecord, mode: ApplyMode, customizations: Customizations
) -> tuple[HookRecord, str]:
    """A delete hook: adopt the instance an earlier delete left running, or create it."""
    running = running_delete_hook(cluster, app_name, record, customizations)
    if running is not None:
        return _started(record, running, "still running from an earlier delete"), ""
    return create_hook(cluster, app_name, record, DELETE_MARKS.get(record.phase, ""), mode)
