"""One app's live objects with its cluster: what events, logs and actions may reach. A caller
names an object; only one of the app's objects or one under them is ever read or changed
(Argo CD answers "not found as part of application" for anything else)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.control.catalog import load_application
from reconciler.control.views.live_objects import LiveObject, LiveObjects, from_cluster, from_index, under
from reconciler.engine.cluster import Cluster
from reconciler.live.reader import LiveStateReader
from reconciler.model import Application
from reconciler.services import Services


class NotInApplication(LookupError):
    """The named object is not one of the app's objects nor under one."""


@dataclass
class AppScope:
    app: Application
    cluster: Cluster
    live: LiveObjects
    objects: list[LiveObject]  # the app's objects and everything under them

    def find(self, *, kind: str = "", namespace: str = "", name: str = "", group: str | None = None,
             uid: str = "") -> LiveObject:
        for obj in self.objects:
            if uid and obj.uid == uid:
                return obj
            if not uid and obj.name == name and (not kind or obj.kind == kind) \
                    and (obj.namespace == namespace or not namespace) and (group is None or obj.key.group == group):
                return obj
        shown = uid or f"{kind} {namespace + '/' if namespace else ''}{name}"
        raise NotInApplication(f"{shown} is not part of application {self.app.name!r}: name one of its objects "
                               "or one under them (see its resource tree)")

    def under(self, root: LiveObject) -> list[LiveObject]:
        """`root` and everything under it."""
        return under(self.objects, {root.uid})


def scope_of(services: Services, name: str) -> AppScope:
    store = services.store
    app = load_application(store, name)
    cluster = services.clusters.for_destination(app.destination)
    live = from_index(LiveStateReader(store, cluster.server), name)
    if live is None:
        inventory = store.inventory(name)
        status = store.status(name) or {}
        namespaces = {str(r.get("namespace") or "") for r in status.get("resources") or []}
        namespaces |= {str(e.get("namespace") or "") for e in inventory.values()} | {app.destination.namespace}
        types = {(str(e.get("apiVersion", "")), str(e.get("kind", ""))) for e in inventory.values()}
        live = from_cluster(cluster, name, types, namespaces, services.customizations())
    roots = {o.uid for o in live.objects if o.tracked}
    return AppScope(app, cluster, live, under(live.objects, roots))
