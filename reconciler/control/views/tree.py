"""`GET /api/v1/applications/{name}/resource-tree`: the app's objects and what they own, as
Argo CD's ApplicationTree (`nodes`, `orphanedNodes`, `hooks`), each node with its sync and
health.

    node: group, version, kind, namespace, name, uid, parentRefs [{group, kind, namespace, name,
          uid}], health {status, message}, sync, hook, info [{name, value}], images, createdAt

`sync` is the last poll's verdict for the app's own objects (Synced, OutOfSync, Missing, Extra,
Unknown) and "" for what controllers made under them (Argo CD compares only what Git holds). A
resource in Git that is not live is a node without a uid. A child Application is a node of kind
Application with the child's own sync and health. `hooks` are the last operation's hooks.
"""

from __future__ import annotations

from typing import Any

from reconciler.control.app_rows import rows_of
from reconciler.control.catalog import load_application, project_for
from reconciler.control.views import orphans
from reconciler.control.views.live_objects import (
    LiveObject,
    LiveObjects,
    endpoint_slices,
    from_cluster,
    from_index,
    under,
)
from reconciler.engine.cluster import KubeError
from reconciler.live.reader import LiveStateReader
from reconciler.model import SpecError
from reconciler.model.resources import ResourceKey, split_api_version
from reconciler.services import Services

APP_GROUP = "argoproj.io"
_HOOK_HEALTH = {"Succeeded": "Healthy", "Failed": "Degraded", "Running": "Progressing", "Pending": "Progressing"}

Node = dict[str, Any]


def node(obj: LiveObject, by_uid: dict[str, LiveObject], sync: str = "", hook: bool = False) -> Node:
    group, version = split_api_version(obj.api_version)
    parents = [by_uid[o] for o in obj.owners if o in by_uid]
    return {
        "group": group, "version": version, "kind": obj.kind, "namespace": obj.namespace, "name": obj.name,
        "uid": obj.uid,
        "parentRefs": [{"group": split_api_version(p.api_version)[0], "kind": p.kind, "namespace": p.namespace,
                        "name": p.name, "uid": p.uid} for p in parents],
        "health": {"status": obj.health[0], "message": obj.health[1]},
        "sync": sync, "hook": hook,
        "info": [{"name": n, "value": v} for n, v in obj.info],
        "images": list(obj.images), "createdAt": obj.created_at,
    }


def missing_node(resource: dict[str, Any], version: str) -> Node:
    health = resource.get("health") or {"status": "Missing", "message": ""}
    return {
        "group": resource.get("group", ""), "version": version, "kind": resource.get("kind", ""),
        "namespace": resource.get("namespace", ""), "name": resource.get("name", ""), "uid": "", "parentRefs": [],
        "health": {"status": health.get("status", "Missing"), "message": health.get("message", "")},
        "sync": resource.get("status", "Unknown"), "hook": False, "info": [], "images": [], "createdAt": "",
    }


def child_app_node(resource: dict[str, Any], row: dict[str, Any] | None) -> Node:
    row = row or {}
    info = [{"name": "Revision", "value": row["revision"][:7]}] if row.get("revision") else []
    return {
        "group": APP_GROUP, "version": "v1alpha1", "kind": "Application", "namespace": resource.get("namespace", ""),
        "name": resource.get("name", ""), "uid": "", "parentRefs": [],
        "health": {"status": row.get("health") or ((resource.get("health") or {}).get("status") or "Unknown"),
                   "message": (resource.get("health") or {}).get("message", "")},
        "sync": resource.get("status", "Unknown"), "hook": False,
        "info": [{"name": "Sync Status", "value": row.get("sync", "Unknown")}, *info], "images": [], "createdAt": "",
    }


def hook_node(hook: dict[str, Any], live: LiveObject | None, by_uid: dict[str, LiveObject]) -> Node:
    status = str(hook.get("status") or "Pending")
    if live is not None:
        found = node(live, by_uid, hook=True)
    else:
        group, version = split_api_version(str(hook.get("apiVersion", "")))
        found = {"group": group, "version": version, "kind": hook.get("kind", ""),
                 "namespace": hook.get("namespace", ""), "name": hook.get("name") or hook.get("generateName", ""),
                 "uid": hook.get("uid", ""), "parentRefs": [], "sync": "", "hook": True, "info": [], "images": [],
                 "createdAt": ""}
    found["health"] = {"status": _HOOK_HEALTH.get(status, "Unknown"), "message": str(hook.get("message") or "")}
    found["info"] = [{"name": "Hook", "value": str(hook.get("phase", ""))}, {"name": "Phase", "value": status},
                     *found["info"]]
    return found


def build(status: dict[str, Any], live: LiveObjects, hooks: list[dict[str, Any]], child_rows: dict[str, Any],
          versions: dict[str, str]) -> dict[str, Any]:
    """Pure: the tree from the last poll's resources, the live objects and the operation's hooks."""
    tracked = {o.key: o for o in live.objects if o.tracked}
    by_uid = {o.uid: o for o in live.objects}
    hook_uids = {str(h.get("uid")) for h in hooks if h.get("uid")}
    nodes: list[Node] = []
    roots: set[str] = set()
    for resource in status.get("resources") or []:
        if resource.get("group") == APP_GROUP and resource.get("kind") == "Application":
            nodes.append(child_app_node(resource, child_rows.get(resource.get("name", ""))))
            continue
        key = ResourceKey(resource.get("group", ""), resource.get("kind", ""), resource.get("namespace", ""),
                          resource.get("name", ""))
        obj = tracked.get(key)
        if obj is None:
            nodes.append(missing_node(resource, versions.get(key.inventory_id, "")))
            continue
        found = node(obj, by_uid, sync=str(resource.get("status", "Unknown")))
        if resource.get("health"):  # the poll's verdict (Lua customizations, child apps) over the index's
            found["health"] = {"status": resource["health"].get("status", ""),
                               "message": resource["health"].get("message", "")}
        nodes.append(found)
        roots.add(obj.uid)
    shown = {n["uid"] for n in nodes if n["uid"]}
    for obj in sorted(under(live.objects, roots | hook_uids), key=lambda o: (o.kind, o.namespace, o.name)):
        if obj.uid not in shown and obj.uid not in hook_uids and not obj.tracked:
            nodes.append(node(obj, by_uid))
    hook_nodes = [hook_node(h, by_uid.get(str(h.get("uid") or "")), by_uid) for h in hooks]
    return {"nodes": nodes, "orphanedNodes": [], "hooks": hook_nodes}


def resource_tree(services: Services, name: str) -> dict[str, Any]:
    """The tree of registered app `name` (UnknownApplication when it is not); `problems` says
    what could not be read (the tree is then partial, never made up)."""
    store = services.store
    app = load_application(store, name)  # UnknownApplication, SpecError
    status = store.status(name) or {}
    inventory = store.inventory(name)
    versions = {key: split_api_version(str(e.get("apiVersion", "")))[1] for key, e in inventory.items()}
    cluster = services.clusters.for_destination(app.destination)
    live = from_index(LiveStateReader(store, cluster.server), name)
    namespaces = {str(r.get("namespace") or "") for r in status.get("resources") or []} | {app.destination.namespace}
    if live is None:
        types = {(str(e.get("apiVersion", "")), str(e.get("kind", ""))) for e in inventory.values()}
        live = from_cluster(cluster, name, types, namespaces, services.customizations())
    else:
        services_live = [o for o in live.objects if o.tracked and o.kind == "Service" and not o.api_version.count("/")]
        if services_live:
            slices, problems = endpoint_slices(cluster, services_live, services.customizations())
            live.objects += slices
            live.problems += problems
    hooks = list((store.operation_state(name) or {}).get("hooks") or [])
    children = [str(r.get("name", "")) for r in status.get("resources") or []
                if r.get("group") == APP_GROUP and r.get("kind") == "Application"]
    tree = build(status, live, hooks, rows_of(store, children), versions)
    project, _ = project_for(store, app)
    if project is not None and project.orphaned_resources is not None:
        try:
            found = orphans.with_health(services, cluster, orphans.find(services, app, project, cluster))
            tree["orphanedNodes"] = [node(o, {}) for o in found]
        except KubeError as exc:
            live.problems.append(f"orphaned resources could not be listed: {exc}")
    tree["liveState"] = live.source
    if live.problems:
        tree["problems"] = live.problems
    return tree


def safe_tree(services: Services, name: str) -> dict[str, Any]:
    try:
        return resource_tree(services, name)
    except SpecError as exc:
        return {"nodes": [], "orphanedNodes": [], "hooks": [],
                "problems": [f"the application spec is invalid: {exc}"]}
