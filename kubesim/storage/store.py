"""The object store: objects by (group, plural) and (namespace, name), one global
resourceVersion counter, and a bounded history of change events for watches.

Stored dicts are never mutated after `commit`: writers build a new dict and commit
it, so readers may serialise what they get without copying or holding the lock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
GroupResource = tuple[str, str]  # (group, plural)
ObjectKey = tuple[str, str]  # (namespace or "", name)

HISTORY_SIZE = 10_000


@dataclass(frozen=True)
class Event:
    """One persisted change: ADDED, MODIFIED or DELETED, with the object before it (if any)."""

    rv: int
    type: str
    resource: GroupResource
    namespace: str
    obj: Obj
    old: Obj | None


class Store:
    def __init__(self, history_size: int = HISTORY_SIZE) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.rv = 0
        self.objects: dict[GroupResource, dict[ObjectKey, Obj]] = {}
        self.history: deque[Event] = deque(maxlen=history_size)
        self.closed = False
        self.listeners: list[Callable[[Event], None]] = []
        # (resource, namespace, controlling owner's uid) -> names: what a controller owns,
        # without scanning every object of the kind (a ReplicaSet's Pods, a Deployment's ReplicaSets).
        self.controlled: dict[tuple[GroupResource, str, str], set[str]] = {}

    def clear(self) -> None:
        """Drop every object and the history; the resourceVersion counter keeps going up."""
        with self.lock:
            self.objects.clear()
            self.controlled.clear()
            self.history.clear()
            self.changed.notify_all()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.changed.notify_all()

    def get(self, resource: GroupResource, namespace: str, name: str) -> Obj | None:
        bucket = self.objects.get(resource)
        return bucket.get((namespace, name)) if bucket else None

    def list(self, resource: GroupResource, namespace: str | None = None) -> list[Obj]:
        with self.lock:
            bucket = self.objects.get(resource) or {}
            if namespace is None:
                return list(bucket.values())
            return [obj for (ns, _), obj in bucket.items() if ns == namespace]

    def controlled_by(self, resource: GroupResource, namespace: str, owner_uid: str) -> list[Obj]:
        """Objects of `resource` in `namespace` whose controlling ownerReference is `owner_uid`."""
        with self.lock:
            bucket = self.objects.get(resource) or {}
            names = self.controlled.get((resource, namespace, owner_uid)) or ()
            return [bucket[(namespace, name)] for name in names if (namespace, name) in bucket]

    def _index_controller(self, resource: GroupResource, key: ObjectKey, old: Obj | None, new: Obj | None) -> None:
        before, after = _controller_uid(old), _controller_uid(new)
        if before == after:
            return
        if before:
            names = self.controlled.get((resource, key[0], before))
            if names is not None:
                names.discard(key[1])
                if not names:
                    del self.controlled[(resource, key[0], before)]
        if after:
            self.controlled.setdefault((resource, key[0], after), set()).add(key[1])

    def all_objects(self) -> list[tuple[GroupResource, Obj]]:
        with self.lock:
            return [(res, obj) for res, bucket in self.objects.items() for obj in bucket.values()]

    def commit(self, resource: GroupResource, obj: Obj, old: Obj | None) -> Obj:
        """Store `obj` (which the store now owns) under a fresh resourceVersion; returns it."""
        with self.lock:
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            meta = obj["metadata"]
            key = (meta.get("namespace") or "", meta["name"])
            bucket = self.objects.setdefault(resource, {})
            self._index_controller(resource, key, bucket.get(key), obj)
            bucket[key] = obj
            self._record(Event(self.rv, "MODIFIED" if old is not None else "ADDED", resource, key[0], obj, old))
            return obj

    def remove(self, resource: GroupResource, obj: Obj) -> Obj:
        """Delete `obj`; the DELETED event carries the object stamped with the deletion's version."""
        with self.lock:
            meta = obj["metadata"]
            key = (meta.get("namespace") or "", meta["name"])
            bucket = self.objects.get(resource) or {}
            self._index_controller(resource, key, bucket.pop(key, None), None)
            self.rv += 1
            gone = {**obj, "metadata": {**meta, "resourceVersion": str(self.rv)}}
            self._record(Event(self.rv, "DELETED", resource, key[0], gone, obj))
            return gone

    def _record(self, event: Event) -> None:
        self.history.append(event)
        for listener in self.listeners:
            listener(event)
        self.changed.notify_all()

    def events_after(self, rv: int) -> list[Event] | None:
        """Events newer than `rv`, oldest first; None when history no longer reaches back to `rv`."""
        with self.lock:
            history = self.history
            if rv < self.rv and (not history or history[0].rv > rv + 1):
                return None
            out: list[Event] = []
            for event in reversed(history):
                if event.rv <= rv:
                    break
                out.append(event)
            out.reverse()
            return out


def _controller_uid(obj: Obj | None) -> str:
    """The uid of `obj`'s controlling ownerReference, "" when it has none."""
    for ref in ((obj or {}).get("metadata") or {}).get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller"):
            return str(ref.get("uid", ""))
    return ""
