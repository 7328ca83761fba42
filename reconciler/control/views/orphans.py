"""Orphaned resources (Argo CD's AppProject `orphanedResources`): top-level namespaced objects
in an app's destination namespace that no app tracks.

Never orphaned, as in Argo CD: kinds the project denies, the `default` ServiceAccount (and its
token Secret on clusters that still make one), the `kubernetes` Service of `default`, the
`kube-root-ca.crt` ConfigMap, the entries of `orphanedResources.ignore` (group, kind and name
globs; an empty one matches all), and what Argo CD's default resource exclusions leave out
(Endpoints, EndpointSlices, Events, Leases). An object with ownerReferences is not top-level.

From the watcher's namespace index (live/graph.py keeps every top-level object no app tracks),
else one LIST per namespaced kind the cluster serves.
"""

from __future__ import annotations

import dataclasses

from reconciler.control.views.live_objects import LiveObject, of_object
from reconciler.core.globs import glob_match
from reconciler.engine.cluster import Cluster, KubeError
from reconciler.engine.project_rules import check_resource
from reconciler.live.reader import unusable
from reconciler.live.records import cluster_id, decode_root, tracking_app
from reconciler.model import Application, AppProject
from reconciler.model.resources import ResourceKey, split_api_version
from reconciler.services import Services

NEVER_ORPHANED = {("", "ServiceAccount", "default"), ("", "ConfigMap", "kube-root-ca.crt")}
EXCLUDED_KINDS = {("", "Endpoints"), ("discovery.k8s.io", "EndpointSlice"), ("", "Event"),
                  ("events.k8s.io", "Event"), ("coordination.k8s.io", "Lease")}
WARNING = "OrphanedResourceWarning"
# Orphans whose health a resource tree assesses (one GET each when the watcher's index gave
# them); past this many the rest say they were not assessed rather than cost a GET apiece.
MAX_ASSESSED = 200


def warning_message(count: int) -> str:
    return f"Application has {count} orphaned resources"  # Argo CD's wording


def is_orphan(project: AppProject, key: ResourceKey) -> bool:
    if (key.group, key.kind) in EXCLUDED_KINDS or (key.group, key.kind, key.name) in NEVER_ORPHANED:
        return False
    if key.group == "" and key.kind == "Service" and key.namespace == "default" and key.name == "kubernetes":
        return False
    if key.group == "" and key.kind == "Secret" and key.name.startswith("default-token-"):
        return False
    if check_resource(project, key, namespaced=True) is not None:
        return False
    settings = project.orphaned_resources
    for entry in settings.ignore if settings else ():
        if all(not pattern or glob_match(pattern, value) for pattern, value in
               ((entry.group, key.group), (entry.kind, key.kind), (entry.name, key.name))):
            return False
    return True


def find(services: Services, app: Application, project: AppProject, cluster: Cluster) -> list[LiveObject]:
    """The orphaned resources of `app`, sorted by kind and name (raises KubeError without a
    watcher when the cluster cannot be listed)."""
    namespace = app.destination.namespace
    if not namespace or project.orphaned_resources is None:
        return []
    cid = cluster_id(cluster.server)
    meta, roots = services.store.live_namespace_roots(cid, namespace)
    if not unusable(meta, (), ()):
        found = []
        for uid, raw in roots.items():
            api_version, kind, name, created_at = decode_root(raw)
            found.append(LiveObject(uid, api_version, kind, namespace, name, (), ("", ""), created_at))
    else:
        found = _listed(cluster, namespace)
    orphans = [o for o in found if is_orphan(project, o.key)]
    return sorted(orphans, key=lambda o: (o.kind, o.name))


def _listed(cluster: Cluster, namespace: str) -> list[LiveObject]:
    found: list[LiveObject] = []
    for rtype in cluster.listable_types():
        if not rtype.namespaced or (split_api_version(rtype.api_version)[0], rtype.kind) in EXCLUDED_KINDS:
            continue
        try:
            items = cluster.list(rtype.api_version, rtype.kind, namespace=namespace)
        except KubeError as exc:
            if exc.status in (403, 404, 405):
                continue
            raise
        for obj in items:
            meta = obj.get("metadata") or {}
            if not meta.get("ownerReferences") and tracking_app(obj) is None:
                live = of_object(obj, None)
                found.append(LiveObject(live.uid, live.api_version, live.kind, live.namespace, live.name, (),
                                        ("", ""), live.created_at))
    return found


def with_health(services: Services, cluster: Cluster, orphans: list[LiveObject]) -> list[LiveObject]:
    """`orphans` with their health assessed as the app's own objects are (built-in rules and the
    Lua customizations): each is read from the cluster, the watcher's index keeping no health of
    objects no app tracks. One gone meanwhile is Missing; one that cannot be read says why."""
    customizations = services.customizations()
    assessed = []
    for index, orphan in enumerate(orphans):
        if index >= MAX_ASSESSED:
            health = ("Unknown", f"not assessed: only the first {MAX_ASSESSED} orphaned resources are")
        else:
            try:
                obj = cluster.get(orphan.api_version, orphan.kind, orphan.namespace or None, orphan.name)
            except KubeError as exc:
                health = ("Unknown", f"could not be read: {exc}")
            else:
                health = of_object(obj, customizations).health if obj is not None else ("Missing", "gone")
        assessed.append(dataclasses.replace(orphan, health=health))
    return assessed


def report(services: Services, app: Application, project: AppProject | None, status: dict[str, object]) -> None:
    """At a poll: the count of orphaned resources in the status (the metric reads it) and, with
    `warn: true`, the OrphanedResourceWarning condition. A count that cannot be taken is said,
    not guessed."""
    if project is None or project.orphaned_resources is None:
        return
    try:
        cluster = services.clusters.for_destination(app.destination)
        count = len(find(services, app, project, cluster))
    except KubeError as exc:
        status["orphanedResourcesError"] = f"orphaned resources could not be listed: {exc}"
        return
    status["orphanedResourcesCount"] = count
    conditions = status.setdefault("conditions", [])
    if project.orphaned_resources.warn and count and isinstance(conditions, list):
        conditions.append({"type": WARNING, "message": warning_message(count)})
