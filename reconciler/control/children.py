"""App-of-apps: Applications rendered by a parent are registered, not applied.

A child the parent no longer renders is deregistered when the parent prunes; its own
resources are deleted only when it carries Argo CD's resources finalizer, as in Argo CD (a
delete operation of its own, asked for here and queued by the parent's finish step).
"""

from __future__ import annotations

from typing import Any

from reconciler.control.catalog import register
from reconciler.control.teardown import deregister, request_delete
from reconciler.model import RESOURCES_FINALIZER, Application, AppProject, SpecError, parse_application, parse_project
from reconciler.services import Services


def parse_children(
    parent: str, manifests: list[dict[str, Any]]
) -> tuple[list[Application | AppProject], list[tuple[str, str]]]:
    """Parsed child documents, and (child name, reason) for each child that is not valid."""
    parsed: list[Application | AppProject] = []
    problems: list[tuple[str, str]] = []
    for manifest in manifests:
        where = f"{manifest.get('kind', 'Application')} rendered by application {parent}"
        try:
            if manifest.get("kind") == "AppProject":
                parsed.append(parse_project(manifest, source_file=where))
            else:
                parsed.append(parse_application(manifest, source_file=where))
        except SpecError as exc:
            problems.append((child_name(manifest), str(exc)))
    return parsed, problems


def reconcile_children(services: Services, parent: str, manifests: list[dict[str, Any]], *, prune: bool) -> str:
    """Register the parent's children; deregister removed ones when pruning. Returns a summary."""
    store = services.store
    parsed, problems = parse_children(parent, manifests)
    names = set(register(store, parsed, parent=parent))
    removed = [child for child in store.children_of(parent) if child not in names]
    deleted: list[str] = []
    if prune:
        for child in removed:
            manifest = store.app_manifest(child) or {}
            cascade = RESOURCES_FINALIZER in ((manifest.get("metadata") or {}).get("finalizers") or [])
            if cascade:
                request_delete(store, child)
            else:
                deregister(store, child)
            deleted.append(child)
    parts = []
    if names:
        parts.append(f"{len(names)} child application(s) registered")
    if deleted:
        parts.append(f"removed {', '.join(sorted(deleted))}")
    elif removed:
        parts.append(f"{', '.join(sorted(removed))} no longer in Git (prune to remove)")
    if problems:
        parts.append("invalid children skipped: " + " | ".join(f"{name}: {reason}" for name, reason in problems))
    return "; ".join(parts)


def child_name(manifest: dict[str, Any]) -> str:
    """The name a rendered child document gives itself, or a placeholder saying it has none."""
    name = (manifest.get("metadata") or {}).get("name") if isinstance(manifest.get("metadata"), dict) else None
    return str(name) if name else "(unnamed)"
