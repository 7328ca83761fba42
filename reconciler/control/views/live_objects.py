"""The live objects of one app: those it tracks and everything under them by ownerReferences
(Deployment -> ReplicaSet -> Pod, Service -> EndpointSlice, CronJob -> Job -> Pod, a hook's
Job -> Pod), from the watcher's index when a watcher holds the cluster, else from the cluster.

From the index: no request at all, except one LIST of EndpointSlices where the app has Services
(the watcher does not keep EndpointSlices: they change with every Pod). Without it: one LIST by
label per tracked kind, and one LIST per owned kind and namespace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.cluster import Cluster, KubeError
from reconciler.engine.health.assess import Health, HealthStatus, assess
from reconciler.engine.health.rules.configured import Customizations
from reconciler.live.reader import LiveStateReader
from reconciler.live.records import images_of, info_of
from reconciler.model.resources import ResourceKey, split_api_version

# Kinds whose objects sit under an app's objects, listed when no watcher answers.
OWNED_KINDS = (("apps/v1", "ReplicaSet"), ("v1", "Pod"), ("batch/v1", "Job"),
               ("discovery.k8s.io/v1", "EndpointSlice"))
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True)
class LiveObject:
    uid: str
    api_version: str
    kind: str
    namespace: str
    name: str
    owners: tuple[str, ...]
    health: tuple[str, str]
    created_at: str = ""
    images: tuple[str, ...] = ()
    info: tuple[tuple[str, str], ...] = ()
    tracked: bool = False

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(split_api_version(self.api_version)[0], self.kind, self.namespace, self.name)


@dataclass
class LiveObjects:
    objects: list[LiveObject] = field(default_factory=list)
    source: str = "watch"  # or "cluster: <why not the watch>"
    problems: list[str] = field(default_factory=list)


def of_object(obj: dict[str, Any], customizations: Customizations | None, tracked: bool = False) -> LiveObject:
    """What is shown of `obj`; without `customizations` its health is not assessed (orphans)."""
    meta = obj.get("metadata") or {}
    owners = tuple(str(r["uid"]) for r in meta.get("ownerReferences") or () if isinstance(r, dict) and r.get("uid"))
    health = assess(obj, customizations) if customizations is not None else Health(HealthStatus.Unknown, "")
    return LiveObject(
        uid=str(meta.get("uid", "")), api_version=str(obj.get("apiVersion", "")), kind=str(obj.get("kind", "")),
        namespace=str(meta.get("namespace") or ""), name=str(meta.get("name", "")), owners=owners,
        health=(health.status.value, health.message), created_at=str(meta.get("creationTimestamp") or ""),
        images=images_of(obj), info=info_of(obj), tracked=tracked,
    )


def from_index(reader: LiveStateReader, app: str) -> LiveObjects | None:
    found = reader.tree(app)
    if found is None:
        return None
    tracked, records = found
    result = LiveObjects()
    for uid, record in tracked.items():
        key = record.key
        result.objects.append(LiveObject(
            uid=uid, api_version=record.api_version, kind=key.kind, namespace=key.namespace, name=key.name,
            owners=(), health=(record.health.status.value, record.health.message), tracked=True,
        ))
    for r in records:
        result.objects.append(LiveObject(r.uid, r.api_version, r.kind, r.namespace, r.name, r.owners,
                                         (r.health, r.message or r.detail), r.created_at, r.images, r.info))
    return result


def from_cluster(
    cluster: Cluster, app: str, types: Iterable[tuple[str, str]], namespaces: set[str], customizations: Customizations
) -> LiveObjects:
    """The same without a watcher: the app's objects by label, then the owned kinds."""
    result = LiveObjects(source="cluster")
    try:
        tracked = cluster.list_tracked(app, types, namespaces)
        result.objects += [of_object(o, customizations, tracked=True) for o in tracked]
    except KubeError as exc:
        result.problems.append(f"the app's objects could not be listed: {exc}")
    for api_version, kind in OWNED_KINDS:
        for namespace in sorted(ns for ns in namespaces if ns):
            try:
                listed = cluster.list(api_version, kind, namespace=namespace)
                result.objects += [of_object(o, customizations) for o in listed]
            except KubeError as exc:
                if exc.status not in (403, 404):
                    result.problems.append(f"{kind} in namespace {namespace!r} could not be listed: {exc}")
    return result


def endpoint_slices(
    cluster: Cluster, services: list[LiveObject], customizations: Customizations
) -> tuple[list[LiveObject], list[str]]:
    """The EndpointSlices of the given Services (by their `kubernetes.io/service-name` label)."""
    by_namespace: dict[str, list[str]] = {}
    for service in services:
        by_namespace.setdefault(service.namespace, []).append(service.name)
    found: list[LiveObject] = []
    problems: list[str] = []
    for namespace, names in sorted(by_namespace.items()):
        selector = f"{SERVICE_NAME_LABEL} in ({','.join(sorted(names))})"
        try:
            listed = cluster.list("discovery.k8s.io/v1", "EndpointSlice", namespace=namespace, label_selector=selector)
            found += [of_object(o, customizations) for o in listed]
        except KubeError as exc:
            if exc.status not in (403, 404):
                problems.append(f"EndpointSlices in namespace {namespace!r} could not be listed: {exc}")
    return found, problems


def under(objects: list[LiveObject], roots: set[str]) -> list[LiveObject]:
    """`objects` reachable from the `roots` uids by ownerReferences (the roots included)."""
    children: dict[str, list[LiveObject]] = {}
    by_uid = {o.uid: o for o in objects}
    for obj in objects:
        for owner in obj.owners:
            children.setdefault(owner, []).append(obj)
    seen: dict[str, LiveObject] = {}
    stack = [uid for uid in roots if uid]
    while stack:
        uid = stack.pop()
        if uid in seen:
            continue
        if uid in by_uid:
            seen[uid] = by_uid[uid]
        for child in children.get(uid, ()):
            if child.uid not in seen:
                stack.append(child.uid)
    return list(seen.values())
