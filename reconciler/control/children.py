"""App-of-apps: Applications rendered by a parent are registered, not applied.

A child the parent no longer renders is deregistered when the parent prunes; its own
resources are deleted only when it carries Argo CD's resources finalizer, as in Argo CD (a
delete operation of its own, asked for here and queued by the parent's finish step).
"""

from __future__ import annotations

from typing import Any

from reconciler.control.appsets.reconcile import delete_appset
from reconciler.control.catalog import register
from reconciler.control.sync.operation import DeleteRequest
from reconciler.control.teardown import delete_without_waiting
from reconciler.model import RESOURCES_FINALIZER, Application, AppProject, SpecError, parse_application, parse_project
from reconciler.model.appset_types import ApplicationSet
from reconciler.model.parse_appset import parse_appset
from reconciler.services import Services


def parse_children(
    parent: str, manifests: list[dict[str, Any]]
) -> tuple[list[Application | AppProject | ApplicationSet], list[tuple[str, str]]]:
    """Parsed child documents, and (child name, reason) for each child that is not valid."""
    parsed: list[Application | AppProject | ApplicationSet] = []
    problems: list[tuple[str, str]] = []
    for manifest in manifests:
        where = f"{manifest.get('kind', 'Application')} rendered by application {parent}"
        try:
            if manifest.get("kind") == "AppProject":
                parsed.append(parse_project(manifest, source_file=where))
            elif manifest.get("kind") == "ApplicationSet":
                parsed.append(parse_appset(manifest, source_file=where))
            else:
                parsed.append(parse_application(manifest, source_file=where))
        except SpecError as exc:
            problems.append((child_name(manifest), str(exc)))
    return parsed, problems


def reconcile_children(
    services: Services, parent: str, manifests: list[dict[str, Any]], *, prune: bool
) -> tuple[str, list[DeleteRequest]]:
    """Register the parent's children; deregister removed ones when pruning. Returns a summary
    and the delete operations asked for (children with the resources finalizer), to queue."""
    store = services.store
    parsed, problems = parse_children(parent, manifests)
    names = set(register(store, parsed, parent=parent))
    removed = [child for child in store.children_of(parent) if child not in names]
    deleted: list[str] = []
    deletes: list[DeleteRequest] = []
    sets = {doc.name for doc in parsed if isinstance(doc, ApplicationSet)}
    removed_sets = [name for name in store.appsets_of_parent(parent) if name not in sets]
    if prune:
        for name in removed_sets:
            deletes += delete_appset(services, name)[1]
            deleted.append(f"ApplicationSet {name}")
        for child in removed:
            manifest = store.app_manifest(child) or {}
            cascade = RESOURCES_FINALIZER in ((manifest.get("metadata") or {}).get("finalizers") or [])
            request = delete_without_waiting(store, services.settings, child, cascade=cascade)
            if request is not None:
                deletes.append(request)
            deleted.append(child)
    parts = []
    if names:
        parts.append(f"{len(names)} child application(s) registered")
    if sets:
        parts.append(f"{len(sets)} ApplicationSet(s) registered")
    if deleted:
        parts.append(f"removed {', '.join(sorted(deleted))}")
    elif removed or removed_sets:
        parts.append(f"{', '.join(sorted(removed + removed_sets))} no longer in Git (prune to remove)")
    if problems:
        parts.append("invalid children skipped: " + " | ".join(f"{name}: {reason}" for name, reason in problems))
    return "; ".join(parts), deletes


def child_name(manifest: dict[str, Any]) -> str:
    """The name a rendered child document gives itself, or a placeholder saying it has none."""
    name = (manifest.get("metadata") or {}).get("name") if isinstance(manifest.get("metadata"), dict) else None
    return str(name) if name else "(unnamed)"
