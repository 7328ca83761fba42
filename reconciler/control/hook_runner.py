"""What a sync does with resource hooks and new CRDs: create, watch, delete (one call each).

A hook's record in the operation (made by control/sync.py `_hook_record`) is what users see
(`app get`, the API, the dashboard) and what these functions update:
`status` Pending -> Running (created) -> Succeeded | Failed, `name` (the server's, for a
generateName hook; the one `unnamed_hook_name` gives a hook with neither), `message`, `deleted`.

Hooks are deleted in the background (their Pods go with them through garbage collection),
and never block the operation: `BeforeHookCreation` of a named hook waits (the step is
re-enqueued) until the old object is gone before creating the new one.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from reconciler.engine.apply_mode import ApplyMode, apply_mode, apply_object
from reconciler.engine.cluster import Cluster, KubeError, UnknownKindError
from reconciler.engine.hooks import BEFORE_HOOK_CREATION, HOOK_FAILED, HOOK_SUCCEEDED, is_hook
from reconciler.health import HealthStatus, assess
from reconciler.model.resources import TRACKING_ANNOTATION, TRACKING_LABEL, ResourceKey

Record = dict[str, Any]

# On each hook object: "<operation id>/<hook id>", the sync that created it.
HOOK_OPERATION_ANNOTATION = "reconciler.io/hook-operation"
# A Job's name becomes a label value (job-name), so at most 63 characters.
MAX_HOOK_NAME = 63


def hook_display(record: Record) -> str:
    name = record.get("name") or f"{record.get('generateName', '')}<generated>"
    namespace = record.get("namespace") or ""
    return f"{record.get('kind')} {namespace + '/' if namespace else ''}{name}"


def public_hook(record: Record) -> Record:
    """The record without its manifest: what the operation's state shows."""
    return {key: value for key, value in record.items() if key != "obj"}


def previous_instances(cluster: Cluster, app_name: str, record: Record) -> list[dict[str, Any]]:
    """Live objects an earlier sync created for this hook: the same name, or for a generateName
    hook every object of the kind and namespace with that generateName, tracked by this app."""
    namespace = record.get("namespace") or None
    if record.get("name"):
        live = cluster.get(record["apiVersion"], record["kind"], namespace, record["name"])
        candidates = [live] if live is not None else []
    elif not record.get("generateName"):
        return []  # not named yet (create_hook names it): nothing identifies its instances
    else:
        candidates = [
            item
            for item in cluster.list(
                record["apiVersion"], record["kind"], namespace=namespace, label_selector=f"{TRACKING_LABEL}={app_name}"
            )
            if (item.get("metadata") or {}).get("generateName") == record["generateName"]
        ]
    return [
        item
        for item in candidates
        if is_hook(item) and ((item.get("metadata") or {}).get("labels") or {}).get(TRACKING_LABEL) == app_name
    ]


def unnamed_hook_name(app_name: str, record: Record, op_id: str) -> str:
    """The name a sync gives a hook with neither metadata.name nor generateName, as Argo CD
    names one (gitops-engine: `<generateName><revision>-<phase>-<start time>`): here
    `<app>-<hash>-<phase>`, the hash of the operation and the hook, so it is new at every sync
    (the hook runs again, as in Argo CD), the same for a redelivered step of that sync (which
    adopts the object instead of creating another), and kept within the 63 characters a
    Job's name may have."""
    digest = hashlib.sha256(f"{op_id}/{record['id']}".encode()).hexdigest()[:7]
    suffix = f"-{digest}-{str(record['phase']).lower()}"
    prefix = app_name[: MAX_HOOK_NAME - len(suffix)].rstrip("-.")
    return f"{prefix}{suffix}"


def create_hook(
    cluster: Cluster, app_name: str, record: Record, op_id: str = "", mode: ApplyMode | None = None
) -> str:
    """Create the hook of `record`; returns why to wait and try again ("" when done). A hook
    the server refuses is marked Failed with the server's answer.

    The object is marked with the operation and hook it belongs to, so a step redelivered
    after its worker died between the create and saving the record adopts that object
    instead of creating a second generateName hook. `mode`: how the app's sync options
    say to write it (server- or client-side, field validation)."""
    mode = mode or apply_mode(None, record["obj"])
    named_here = not record.get("name") and not record.get("generateName")
    if named_here:
        record["name"] = unnamed_hook_name(app_name, record, op_id)
    generated = not record.get("name")
    namespace = record.get("namespace") or None
    mark = f"{op_id}/{record['id']}"
    if (generated or named_here) and op_id:
        for live in previous_instances(cluster, app_name, record):
            meta = live.get("metadata") or {}
            if (meta.get("annotations") or {}).get(HOOK_OPERATION_ANNOTATION) == mark:
                record.update(status="Running", name=meta.get("name", ""), uid=meta.get("uid", ""), message="created")
                return ""
    if BEFORE_HOOK_CREATION in record["deletePolicies"]:
        for live in previous_instances(cluster, app_name, record):
            meta = live.get("metadata") or {}
            if not meta.get("deletionTimestamp"):
                cluster.delete(
                    record["apiVersion"], record["kind"], namespace, meta["name"], propagation="Background",
                    uid=meta.get("uid"),
                )
        if not generated and cluster.get(record["apiVersion"], record["kind"], namespace, record["name"]) is not None:
            return f"waiting for the previous {hook_display(record)} to be deleted (BeforeHookCreation)"
    obj = copy.deepcopy(record["obj"])
    meta = obj.setdefault("metadata", {})
    if named_here:
        meta["name"] = record["name"]
        meta["annotations"] = {
            **(meta.get("annotations") or {}), TRACKING_ANNOTATION: ResourceKey.of(obj).tracking_id(app_name)
        }
    if op_id:
        meta["annotations"] = {**(meta.get("annotations") or {}), HOOK_OPERATION_ANNOTATION: mark}
    try:
        if generated:
            live = cluster.create(obj, field_validation=mode.field_validation)
        else:
            live = apply_object(cluster, obj, mode)
    except KubeError as exc:
        if exc.status == 409 and not generated:
            return f"waiting for the previous {hook_display(record)} to be deleted"
        record.update(status="Failed", message=f"could not be created: {exc}")
        return ""
    meta = live.get("metadata") or {}
    record.update(status="Running", name=meta.get("name", ""), uid=meta.get("uid", ""), message="created")
    return ""


def check_hooks(cluster: Cluster, op: dict[str, Any], hook_ids: list[int]) -> tuple[list[str], str]:
    """Update the hooks' status from their live objects: (what is still running, a failure)."""
    waiting: list[str] = []
    for hook_id in hook_ids:
        record = op["hooks"][hook_id]
        if record["status"] == "Succeeded":
            continue
        if record["status"] == "Failed":
            return [], f"{record['phase']} hook {hook_display(record)} failed: {record['message']}"
        live = cluster.get(record["apiVersion"], record["kind"], record.get("namespace") or None, record["name"])
        if live is None:
            waiting.append(f"{record['phase']} hook {hook_display(record)} (not found: deleted by someone?)")
            continue
        state = settle(record, live)
        if record["status"] == "Failed":
            return [], f"{record['phase']} hook {hook_display(record)} failed: {record['message']}"
        if record["status"] != "Succeeded":
            waiting.append(f"{record['phase']} hook {hook_display(record)} to complete ({state})")
    return waiting, ""


def settle(record: Record, live: dict[str, Any]) -> str:
    """Record what the hook's live object says (a completed Job or Pod: Succeeded; a failed
    one: Failed; else still running, with its health message); returns its health status."""
    health = assess(live)
    if health.status == HealthStatus.Healthy:
        record.update(status="Succeeded", message=health.message or "completed")
    elif health.status == HealthStatus.Degraded:
        record.update(status="Failed", message=health.message or "failed")
    else:
        record["message"] = health.message or health.status.value
    return health.status.value


def delete_hook_by_policy(cluster: Cluster, record: Record) -> None:
    policies = record.get("deletePolicies") or []
    wanted = (record["status"] == "Succeeded" and HOOK_SUCCEEDED in policies) or (
        record["status"] == "Failed" and HOOK_FAILED in policies
    )
    if not wanted or record.get("deleted") or not record.get("name"):
        return
    try:
        cluster.delete(
            record["apiVersion"], record["kind"], record.get("namespace") or None, record["name"],
            propagation="Background", uid=record.get("uid") or None,
        )
    except KubeError as exc:
        record["message"] = f"{record.get('message', '')}; could not delete it: {exc}"
        return
    record["deleted"] = True


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
