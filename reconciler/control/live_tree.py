"""The live objects under an app's workloads: Deployment -> ReplicaSets -> Pods, and the
Pods of StatefulSets and DaemonSets, found by their ownerReferences.

Controllers create these objects, so they carry no tracking label and are not in Git or
in the status. With the watcher running they come from its index (reconciler/live keeps,
per app, the objects under its tracked ones): no request to the cluster. Without it the
page asks the cluster: one LIST of ReplicaSets and one of Pods per namespace that holds a
workload, whatever the number of workloads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reconciler.control.catalog import load_application
from reconciler.engine.cluster import Cluster, KubeError
from reconciler.engine.health.assess import assess
from reconciler.engine.health.rules.configured import Customizations
from reconciler.live.reader import LiveStateReader
from reconciler.live.records import TreeRecord
from reconciler.model import SpecError
from reconciler.services import Services

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"

Node = dict[str, Any]
OwnerKey = tuple[str, str, str]  # kind, namespace, name


def _owners(obj: dict[str, Any]) -> list[tuple[str, str]]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return [(str(r.get("kind", "")), str(r.get("name", ""))) for r in refs if isinstance(r, dict)]


def _node(obj: dict[str, Any], children: list[Node], customizations: Customizations) -> Node:
    meta = obj.get("metadata") or {}
    health = assess(obj, customizations)
    detail = ""
    if obj.get("kind") == "ReplicaSet":
        spec_replicas = (obj.get("spec") or {}).get("replicas", 0)
        ready = (obj.get("status") or {}).get("readyReplicas", 0) or 0
        revision = (meta.get("annotations") or {}).get(REVISION_ANNOTATION)
        detail = f"{ready}/{spec_replicas} ready" + (f", revision {revision}" if revision else "")
    elif obj.get("kind") == "Pod":
        detail = str((obj.get("status") or {}).get("phase") or "")
    return {
        "kind": obj.get("kind", ""),
        "namespace": meta.get("namespace") or "",
        "name": meta.get("name", ""),
        "health": health.status.value,
        "message": health.message or detail,
        "detail": detail,
        "children": children,
    }


def build_live_children(
    workloads: Iterable[OwnerKey], replica_sets: list[dict[str, Any]], pods: list[dict[str, Any]],
    customizations: Customizations,
) -> dict[OwnerKey, list[Node]]:
    """Pure: live children of each workload, from already-listed ReplicaSets and Pods."""
    pods_by_owner: dict[OwnerKey, list[dict[str, Any]]] = {}
    for pod in pods:
        namespace = (pod.get("metadata") or {}).get("namespace") or ""
        for kind, name in _owners(pod):
            pods_by_owner.setdefault((kind, namespace, name), []).append(pod)
    rs_by_owner: dict[OwnerKey, list[dict[str, Any]]] = {}
    for rs in replica_sets:
        namespace = (rs.get("metadata") or {}).get("namespace") or ""
        for kind, name in _owners(rs):
            rs_by_owner.setdefault((kind, namespace, name), []).append(rs)

    def by_name(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(objs, key=lambda o: str((o.get("metadata") or {}).get("name", "")))

    result: dict[OwnerKey, list[Node]] = {}
    for kind, namespace, name in workloads:
        if kind == "Deployment":
            nodes = []
            for rs in by_name(rs_by_owner.get((kind, namespace, name), [])):
                rs_name = str((rs.get("metadata") or {}).get("name", ""))
                owned = by_name(pods_by_owner.get(("ReplicaSet", namespace, rs_name), []))
                nodes.append(_node(rs, [_node(p, [], customizations) for p in owned], customizations))
        else:
            nodes = [_node(p, [], customizations) for p in by_name(pods_by_owner.get((kind, namespace, name), []))]
        if nodes:
            result[(kind, namespace, name)] = nodes
    return result


def live_children(
    cluster: Cluster, resources: list[dict[str, Any]], customizations: Customizations
) -> tuple[dict[OwnerKey, list[Node]], str]:
    """Query the cluster for the ReplicaSets and Pods under the app's live workloads.

    Returns the children and an error message ("" when every LIST answered); a cluster
    that cannot be reached leaves the tree without live children rather than failing.
    """
    workloads = [
        (str(r["kind"]), str(r.get("namespace") or ""), str(r["name"]))
        for r in resources
        if r.get("kind") in WORKLOAD_KINDS and r.get("status") not in ("Missing",)
    ]
    if not workloads:
        return {}, ""
    replica_sets: list[dict[str, Any]] = []
    pods: list[dict[str, Any]] = []
    errors: list[str] = []
    for namespace in sorted({ns for _, ns, _ in workloads}):
        if any(kind == "Deployment" for kind, ns, _ in workloads if ns == namespace):
            try:
                replica_sets.extend(cluster.list("apps/v1", "ReplicaSet", namespace=namespace))
            except KubeError as exc:
                errors.append(f"cannot list ReplicaSets in namespace {namespace!r}: {exc}")
        try:
            pods.extend(cluster.list("v1", "Pod", namespace=namespace))
        except KubeError as exc:
            errors.append(f"cannot list Pods in namespace {namespace!r}: {exc}")
    return build_live_children(workloads, replica_sets, pods, customizations), "; ".join(errors)


def _index_node(record: TreeRecord, children: list[Node]) -> Node:
    return {
        "kind": record.kind,
        "namespace": record.namespace,
        "name": record.name,
        "health": record.health,
        "message": record.message or record.detail,
        "detail": record.detail,
        "children": children,
    }


def live_children_from_index(
    reader: LiveStateReader, app_name: str, resources: list[dict[str, Any]]
) -> dict[OwnerKey, list[Node]] | None:
    """The same tree from the watcher's index; None when no live watcher holds the cluster."""
    found = reader.tree(app_name)
    if found is None:
        return None
    tracked, records = found
    by_owner: dict[str, list[TreeRecord]] = {}
    for record in records:
        for owner in record.owners:
            by_owner.setdefault(owner, []).append(record)
    uid_of = {(r.key.kind, r.key.namespace, r.key.name): uid for uid, r in tracked.items()}

    def nodes_under(uid: str, depth: int) -> list[Node]:
        kids = sorted(by_owner.get(uid, []), key=lambda r: (r.kind, r.name))
        return [_index_node(k, nodes_under(k.uid, depth - 1) if depth > 1 else []) for k in kids]

    result: dict[OwnerKey, list[Node]] = {}
    for r in resources:
        if r.get("kind") not in WORKLOAD_KINDS or r.get("status") == "Missing":
            continue
        key = (str(r["kind"]), str(r.get("namespace") or ""), str(r["name"]))
        uid = uid_of.get(key)
        nodes = nodes_under(uid, 2) if uid else []
        if nodes:
            result[key] = nodes
    return result


def live_children_of(
    services: Services, name: str, resources: list[dict[str, Any]]
) -> tuple[dict[OwnerKey, list[Node]], str]:
    """The ReplicaSets and Pods under app `name`'s workloads: from the watcher's index when a
    watcher holds its cluster, else by asking the cluster; and why they are not shown."""
    try:
        app = load_application(services.store, name)
        cluster = services.clusters.for_destination(app.destination)
        indexed = live_children_from_index(LiveStateReader(services.store, cluster.server), name, resources)
        if indexed is not None:
            return indexed, ""
        return live_children(cluster, resources, services.customizations())  # no watcher holds the cluster: ask it
    except SpecError as exc:
        return {}, f"live objects not shown: the application spec is invalid: {exc}"
    except KubeError as exc:
        return {}, f"live ReplicaSets and Pods not shown: {exc}"


def tree_to_json(children: dict[OwnerKey, list[Node]]) -> list[list[Any]]:
    """The children map as JSON can carry it (tuple keys become lists)."""
    return [[list(owner), nodes] for owner, nodes in children.items()]


def tree_from_json(rows: list[list[Any]]) -> dict[OwnerKey, list[Node]]:
    return {(str(owner[0]), str(owner[1]), str(owner[2])): nodes for owner, nodes in rows}
