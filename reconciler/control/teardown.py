"""Forgetting an application, and with `cascade` deleting what it deployed.

Deletion is as careful as prune: only objects in the app's inventory that still carry
its tracking are deleted, each with a uid precondition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.control.catalog import UnknownApplication, load_application
from reconciler.engine.cluster import KubeError
from reconciler.engine.compare import owned_by
from reconciler.model import SpecError
from reconciler.model.resources import ResourceKey
from reconciler.services import Services


@dataclass
class Teardown:
    deleted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


def delete_application(services: Services, name: str, *, cascade: bool) -> Teardown:
    """Deregister `name`; with `cascade`, first delete its resources and its child apps'.

    Raises UnknownApplication when no such app is registered. When a cascade delete
    fails for some object, the app stays registered so nothing is orphaned silently.
    """
    store = services.store
    if store.app_manifest(name) is None:
        raise UnknownApplication(name)
    result = Teardown()
    if cascade:
        for child in store.children_of(name):
            child_result = delete_application(services, child, cascade=True)
            result.children.append(child)
            result.failed.extend(child_result.failed)
        _delete_resources(services, name, result)
        if result.failed:
            return result
    store.delete_app(name)
    return result


def _delete_resources(services: Services, name: str, result: Teardown) -> None:
    try:
        app = load_application(services.store, name)
    except (UnknownApplication, SpecError) as exc:
        result.failed.append(f"{name}: {exc}")
        return
    cluster = services.clusters.for_destination(app.destination)
    for entry_id, entry in sorted(services.store.inventory(name).items()):
        key = ResourceKey.from_inventory_id(entry_id)
        try:
            live = cluster.get(entry["apiVersion"], key.kind, key.namespace or None, key.name)
            if live is None:
                services.store.remove_from_inventory(name, [entry_id])
                continue
            if not owned_by(live, name):
                result.skipped.append(f"{key}: no longer carries this app's tracking")
                continue
            uid = (live.get("metadata") or {}).get("uid")
            cluster.delete(entry["apiVersion"], key.kind, key.namespace or None, key.name, uid=uid)
        except KubeError as exc:
            result.failed.append(str(exc))
            continue
        services.store.remove_from_inventory(name, [entry_id])
        result.deleted.append(str(key))
