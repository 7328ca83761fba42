"""The watcher's in-memory picture of one cluster: kept objects by uid, their owner links, and
which app each belongs to. Each change yields the Redis writes that keep the index in step and
the apps whose poll it calls for. Pure (no I/O), so it is tested without a cluster.

Ownership is resolved as gitops-engine's cluster cache does (pkg/cache: parent references by
uid): an object belongs to the app that tracks it, else to the app of its first owner that
belongs to one; when an owner arrives after its children (lists of different kinds run in
parallel), the children are resolved then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from reconciler.engine.cluster import DEFAULT_FIELD_MANAGER
from reconciler.engine.health.rules.configured import Customizations
from reconciler.live.records import Node, node_of, root_record
from reconciler.state.keys import Keys
from reconciler.state.live import Op


class Graph:
    def __init__(
        self, cluster: str, field_manager: str = DEFAULT_FIELD_MANAGER,
        customizations: Callable[[], Customizations] = Customizations,
    ) -> None:
        self.cluster = cluster
        self.field_manager = field_manager  # whose Apply entry owned_fingerprint reads
        self.customizations = customizations  # the watcher's health checks and ignoreResourceUpdates
        self.nodes: dict[str, Node] = {}
        self.children: dict[str, set[str]] = {}
        self.by_type: dict[str, set[str]] = {}
        # Top-level namespaced objects no app tracks (orphaned-resource candidates): uid ->
        # (namespace, record, kind key). Kept apart from `nodes`: nothing belongs under them.
        self.roots: dict[str, tuple[str, str, str]] = {}
        self.ops: list[Op] = []
        self.dirty: set[str] = set()

    def take(self) -> tuple[list[Op], set[str]]:
        """The writes and the apps to poll since the last call."""
        ops, dirty = self.ops, self.dirty
        self.ops, self.dirty = [], set()
        return ops, dirty

    def apps(self) -> set[str]:
        return {n.app for n in self.nodes.values() if n.app}

    # changes ---------------------------------------------------------------------------

    def upsert(self, obj: dict[str, Any], kind_key: str) -> None:
        uid = str((obj.get("metadata") or {}).get("uid", ""))
        if not uid:
            return
        new = node_of(obj, kind_key, self.customizations(), self.field_manager)
        self._keep_root(obj, uid, kind_key, new is None)
        old = self.nodes.get(uid)
        if new is None:
            if old is not None:
                self._remove(old)
            return
        if old is not None:
            self._unlink(old)
        for owner in new.owners:
            self.children.setdefault(owner, set()).add(uid)
        self.nodes[uid] = new
        self.by_type.setdefault(kind_key, set()).add(uid)
        new.app = self._resolve(new)
        moved = old is None or (old.app, old.tracked_app) != (new.app, new.tracked_app)
        if old is not None and moved:
            self._unindex(old)
        if moved or not new.same_record(old):  # type: ignore[arg-type]
            self._index(new)
        if self._matters(old, new, moved):
            self._touch(old.app if old else None, new.app)
        if old is None or old.app != new.app:
            self._reresolve_children(uid, {uid})

    @staticmethod
    def _matters(old: Node | None, new: Node, moved: bool) -> bool:
        """Whether the change calls for a poll of the app. Any change to a tracked object
        does; of the objects under them (ReplicaSets, Pods) only a change of health: a
        rollout's Pods coming and going show in their Deployment's own status already."""
        if new.tracked_app:
            # A change only in fields ignoreResourceUpdates names is not one, unless health moved.
            return old is None or moved or old.update_fingerprint != new.update_fingerprint or old.health != new.health
        if old is None:
            return new.health[0] not in ("Healthy", "Progressing")  # born failing: worth a look
        return moved or old.health != new.health

    def delete(self, obj: dict[str, Any]) -> None:
        uid = str((obj.get("metadata") or {}).get("uid", ""))
        self._drop_root(uid)
        node = self.nodes.get(uid)
        if node is not None:
            self._remove(node)

    def replace(self, kind_key: str, namespace: str | None, items: Iterable[dict[str, Any]]) -> None:
        """A (re)list of one kind, cluster-wide or in one namespace: what it lacks is gone."""
        items = list(items)
        for obj in items:
            self.upsert(obj, kind_key)
        self.keep_only(kind_key, namespace, {str((o.get("metadata") or {}).get("uid", "")) for o in items})

    def keep_only(self, kind_key: str, namespace: str | None, listed: set[str]) -> None:
        """The end of a (re)list whose pages were upserted: objects of the kind (in that
        namespace) it did not list are gone."""
        for uid in list(self.by_type.get(kind_key, ())):
            node = self.nodes.get(uid)
            if node is not None and uid not in listed and (namespace is None or node.namespace == namespace):
                self._remove(node)
        for uid, (ns, _record, kind) in list(self.roots.items()):
            if kind == kind_key and uid not in listed and (namespace is None or ns == namespace):
                self._drop_root(uid)

    def drop_kind(self, kind_key: str) -> None:
        """The kind is no longer watched (its CRD went, or it was excluded)."""
        for uid in list(self.by_type.get(kind_key, ())):
            node = self.nodes.get(uid)
            if node is not None:
                self._remove(node)
        self.by_type.pop(kind_key, None)
        for uid, (_ns, _record, kind) in list(self.roots.items()):
            if kind == kind_key:
                self._drop_root(uid)

    # internals -------------------------------------------------------------------------

    def _keep_root(self, obj: dict[str, Any], uid: str, kind_key: str, untracked_root: bool) -> None:
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        if not untracked_root or not namespace:
            self._drop_root(uid)
            return
        record = root_record(obj)
        if self.roots.get(uid, ("", "", ""))[:2] != (namespace, record):
            self.ops.append(("hset", Keys.live_namespace(self.cluster, namespace), uid, record))
            self.ops.append(("sadd", Keys.live_namespaces(self.cluster), namespace))
            self.roots[uid] = (namespace, record, kind_key)

    def _drop_root(self, uid: str) -> None:
        found = self.roots.pop(uid, None)
        if found is not None:
            self.ops.append(("hdel", Keys.live_namespace(self.cluster, found[0]), uid))

    def _remove(self, node: Node) -> None:
        self._unlink(node)
        self.nodes.pop(node.uid, None)
        self.by_type.get(node.type_key, set()).discard(node.uid)
        self._unindex(node)
        if node.tracked_app:  # a Pod replaced in a rollout is not news; a tracked object gone is
            self._touch(node.app)
        self._reresolve_children(node.uid, {node.uid})

    def _unlink(self, node: Node) -> None:
        for owner in node.owners:
            kids = self.children.get(owner)
            if kids is not None:
                kids.discard(node.uid)
                if not kids:
                    del self.children[owner]

    def _resolve(self, node: Node) -> str | None:
        if node.tracked_app:
            return node.tracked_app
        for owner in node.owners:
            parent = self.nodes.get(owner)
            if parent is not None and parent.app:
                return parent.app
        return None

    def _reresolve_children(self, uid: str, seen: set[str]) -> None:
        for child_uid in list(self.children.get(uid, ())):
            child = self.nodes.get(child_uid)
            if child is None or child_uid in seen:
                continue
            seen.add(child_uid)
            app = self._resolve(child)
            if app == child.app:
                continue
            self._unindex(child)
            self._touch(child.app, app)
            child.app = app
            self._index(child)
            self._reresolve_children(child_uid, seen)

    def _index(self, node: Node) -> None:
        if not node.app:
            return
        if node.tracked_app == node.app:
            key = Keys.live_app(self.cluster, node.app)
            self.ops.append(("hset", key, node.key.inventory_id, node.tracked_record()))
        else:
            self.ops.append(("hset", Keys.live_tree(self.cluster, node.app), node.uid, node.tree_record()))
        self.ops.append(("sadd", Keys.live_apps(self.cluster), node.app))

    def _unindex(self, node: Node) -> None:
        if not node.app:
            return
        if node.tracked_app == node.app:
            self.ops.append(("hdel", Keys.live_app(self.cluster, node.app), node.key.inventory_id))
        else:
            self.ops.append(("hdel", Keys.live_tree(self.cluster, node.app), node.uid))

    def _touch(self, *apps: str | None) -> None:
        self.dirty.update(a for a in apps if a)
