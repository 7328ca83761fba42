"""What the watcher keeps of one live object, and how it is written to and read from Redis.

Only two sorts of objects are kept: those an app tracks (label + tracking-id annotation, as
compare.py's `owned_by` reads them) and those with ownerReferences (they may sit under a
tracked object: a Deployment's ReplicaSets and Pods). A root object nobody tracks cannot
have tracked descendants, so nothing of it is kept.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from reconciler.engine.cluster.resource_types import DEFAULT_FIELD_MANAGER
from reconciler.engine.diff.ignore import apply_ignore_differences
from reconciler.engine.health.assess import assess
from reconciler.engine.health.rules.configured import Customizations, system_ignore_resource_updates
from reconciler.engine.live_view import LiveRecord, health_of, live_fingerprint, owned_fingerprint
from reconciler.model.resources import TRACKING_ANNOTATION, TRACKING_LABEL, ResourceKey, split_api_version

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


def cluster_id(server: str) -> str:
    """The short name of a cluster in Redis keys: a hash of its API server URL."""
    return hashlib.sha256(server.strip().rstrip("/").lower().encode()).hexdigest()[:12]


def type_key(api_version: str, kind: str) -> str:
    """`group/Kind` (`/ConfigMap` for the core group): how coverage and exclusions name a kind."""
    return f"{split_api_version(api_version)[0]}/{kind}"


def tracking_app(obj: dict[str, Any]) -> str | None:
    """The app that tracks this very object (label and annotation agree), or None."""
    meta = obj.get("metadata") or {}
    parsed = ResourceKey.from_tracking_id(str((meta.get("annotations") or {}).get(TRACKING_ANNOTATION, "")))
    if parsed is None:
        return None
    app, key = parsed
    if key != ResourceKey.of(obj) or (meta.get("labels") or {}).get(TRACKING_LABEL) != app:
        return None
    return app


def pod_reason(obj: dict[str, Any]) -> str:
    """A Pod's state in a word, as `kubectl get pods` shows it: a container's waiting or
    terminated reason (CrashLoopBackOff, Error, ...) before the pod's reason and phase."""
    status = obj.get("status") or {}
    reason = str(status.get("reason") or status.get("phase") or "")
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        for kind in ("waiting", "terminated"):
            if (state.get(kind) or {}).get("reason"):
                return str(state[kind]["reason"])
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    return reason


def info_of(obj: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Argo CD's `info` items of a resource node: a Pod's status reason, node, ready containers
    and restarts; a ReplicaSet's revision."""
    kind = obj.get("kind")
    if kind == "Pod":
        status = obj.get("status") or {}
        containers = status.get("containerStatuses") or []
        total = len((obj.get("spec") or {}).get("containers") or []) or len(containers)
        ready = sum(1 for c in containers if c.get("ready"))
        restarts = sum(int(c.get("restartCount") or 0) for c in containers)
        items = [("Status Reason", pod_reason(obj))]
        if (obj.get("spec") or {}).get("nodeName"):
            items.append(("Node", str(obj["spec"]["nodeName"])))
        items += [("Containers", f"{ready}/{total}"), ("Restart Count", str(restarts))]
        return tuple(items)
    if kind == "ReplicaSet":
        revision = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION)
        return (("Revision", f"Rev:{revision}"),) if revision else ()
    return ()


def images_of(obj: dict[str, Any]) -> tuple[str, ...]:
    """The container images of a Pod (Argo CD's node `images`)."""
    if obj.get("kind") != "Pod":
        return ()
    spec = obj.get("spec") or {}
    images = [str(c.get("image", "")) for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])]
    return tuple(dict.fromkeys(i for i in images if i))


def detail_of(obj: dict[str, Any]) -> str:
    """A line for the dashboard's tree: a ReplicaSet's ready count and revision, a Pod's phase."""
    kind = obj.get("kind")
    if kind == "ReplicaSet":
        replicas = (obj.get("spec") or {}).get("replicas", 0)
        ready = (obj.get("status") or {}).get("readyReplicas", 0) or 0
        revision = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION)
        return f"{ready}/{replicas} ready" + (f", revision {revision}" if revision else "")
    if kind == "Pod":
        return str((obj.get("status") or {}).get("phase") or "")
    return ""


@dataclass(slots=True)
class Node:
    uid: str
    type_key: str
    api_version: str
    kind: str
    namespace: str
    name: str
    owners: tuple[str, ...]
    tracked_app: str | None
    resource_version: str
    fingerprint: str  # of tracked objects only: what a poll compares with its verified one
    health: tuple[str, str]
    detail: str
    app: str | None = None  # the app it belongs to: tracked_app, or its owners' app
    # The fingerprint without the fields resource.customizations.ignoreResourceUpdates names:
    # a change there alone queues no poll (kept in memory only; the index keeps `fingerprint`,
    # so the next poll still sees the change).
    update_fingerprint: str = ""
    owned: str = ""  # owned_fingerprint for this system's field manager, of tracked objects only
    created_at: str = ""
    images: tuple[str, ...] = ()
    info: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(split_api_version(self.api_version)[0], self.kind, self.namespace, self.name)

    def same_record(self, other: Node) -> bool:
        return (self.resource_version, self.fingerprint, self.health, self.detail, self.owners, self.owned,
                self.info) == (other.resource_version, other.fingerprint, other.health, other.detail, other.owners,
                               other.owned, other.info)

    def tracked_record(self) -> str:
        return json.dumps([self.api_version, self.uid, self.resource_version, self.fingerprint, *self.health,
                           self.owned], separators=(",", ":"))

    def tree_record(self) -> str:
        return json.dumps([self.api_version, self.kind, self.namespace, self.name, list(self.owners),
                           *self.health, self.resource_version, self.detail, self.created_at, list(self.images),
                           [list(item) for item in self.info]], separators=(",", ":"))


def node_of(
    obj: dict[str, Any], kind_key: str, customizations: Customizations, field_manager: str = DEFAULT_FIELD_MANAGER
) -> Node | None:
    """The Node to keep for `obj`, or None when it is neither tracked nor owned by anything."""
    meta = obj.get("metadata") or {}
    owners = tuple(str(r["uid"]) for r in meta.get("ownerReferences") or () if isinstance(r, dict) and r.get("uid"))
    app = tracking_app(obj)
    if app is None and not owners:
        return None
    health = assess(obj, customizations)
    fingerprint = live_fingerprint(obj) if app else ""
    return Node(
        uid=str(meta.get("uid", "")),
        type_key=kind_key,
        api_version=str(obj.get("apiVersion", "")),
        kind=str(obj.get("kind", "")),
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name", "")),
        owners=owners,
        tracked_app=app,
        resource_version=str(meta.get("resourceVersion", "")),
        fingerprint=fingerprint,
        health=(health.status.value, health.message),
        detail=detail_of(obj),
        update_fingerprint=update_fingerprint(obj, fingerprint, customizations) if app else "",
        owned=owned_fingerprint(obj, field_manager) if app else "",
        created_at=str(meta.get("creationTimestamp") or ""),
        images=images_of(obj),
        info=info_of(obj),
    )


def update_fingerprint(obj: dict[str, Any], fingerprint: str, customizations: Customizations) -> str:
    """`fingerprint` of `obj` without what the configured ignoreResourceUpdates rules of its
    group/kind name (Argo CD's resource.customizations.ignoreResourceUpdates): the watcher's
    test for "this change calls for a poll". Customizations that cannot be read ignore nothing
    here (assess reports them as the object's health)."""
    rules = system_ignore_resource_updates(customizations)
    if not rules:
        return fingerprint
    _, stripped = apply_ignore_differences(ResourceKey.of(obj), None, obj, rules)
    return fingerprint if stripped is obj or stripped is None else live_fingerprint(stripped)


def decode_tracked(field: str, raw: str) -> LiveRecord:
    # Records written before the owned-fields fingerprint have six items: they vouch by the whole object.
    api_version, uid, rv, fingerprint, status, message, *rest = json.loads(raw)
    return LiveRecord(ResourceKey.from_inventory_id(field), api_version, uid, rv, fingerprint,
                      health_of([status, message]), owned=str(rest[0]) if rest else "")


@dataclass(frozen=True)
class TreeRecord:
    uid: str
    api_version: str
    kind: str
    namespace: str
    name: str
    owners: tuple[str, ...]
    health: str
    message: str
    resource_version: str
    detail: str
    created_at: str = ""
    images: tuple[str, ...] = ()
    info: tuple[tuple[str, str], ...] = ()


def decode_tree(uid: str, raw: str) -> TreeRecord:
    # Records written before created-at, images and info have nine items.
    api_version, kind, namespace, name, owners, status, message, rv, detail, *rest = json.loads(raw)
    created_at, images, info = [*rest, "", [], []][:3]
    return TreeRecord(uid, api_version, kind, namespace, name, tuple(owners), status, message, rv, detail,
                      str(created_at), tuple(images), tuple((str(a), str(b)) for a, b in info))


def root_record(obj: dict[str, Any]) -> str:
    """What the index keeps of a top-level object no app tracks: enough to list it as an
    orphaned resource (apiVersion, kind, name, creation time, labels' tracking value)."""
    meta = obj.get("metadata") or {}
    return json.dumps([str(obj.get("apiVersion", "")), str(obj.get("kind", "")), str(meta.get("name", "")),
                       str(meta.get("creationTimestamp") or "")], separators=(",", ":"))


def decode_root(raw: str) -> tuple[str, str, str, str]:
    api_version, kind, name, created_at = json.loads(raw)
    return str(api_version), str(kind), str(name), str(created_at)
