"""App-of-apps: Applications rendered by a parent are registered, not applied.

Registration is the last gate: each child passes the parent's project again (engine/child_rules.py;
the sync was refused already when one did not, this catches a project changed meanwhile), and a
child or project someone else registered (an admin, another parent) is never overwritten
(catalog.register_for_parent, atomic in Redis). A child the parent no longer renders is
deregistered when the parent prunes, if the parent registered it; its own resources are deleted
only when it carries Argo CD's resources finalizer, as in Argo CD.
"""

from __future__ import annotations

from typing import Any

from reconciler.control.catalog import (
    UnknownApplication,
    describe_owner,
    load_application,
    project_for,
    register_for_parent,
    registered_project,
)
from reconciler.control.teardown import delete_application
from reconciler.engine.child_rules import check_children, parse_child
from reconciler.model import (
    PROJECT_KIND,
    RESOURCES_FINALIZER,
    Application,
    AppProject,
    SpecError,
)
from reconciler.services import Services


def parse_children(
    parent: str, manifests: list[dict[str, Any]]
) -> tuple[list[Application | AppProject], list[tuple[str, str]]]:
    """Parsed child documents, and (child name, reason) for each child that is not valid."""
    parsed: list[Application | AppProject] = []
    problems: list[tuple[str, str]] = []
    for manifest in manifests:
        try:
            parsed.append(parse_child(parent, manifest))
        except SpecError as exc:
            problems.append((child_name(manifest), str(exc)))
    return parsed, problems


def reconcile_children(services: Services, parent: str, manifests: list[dict[str, Any]], *, prune: bool) -> str:
    """Register the parent's children; deregister removed ones when pruning. Returns a summary."""
    store = services.store
    parsed, problems = parse_children(parent, manifests)
    refused = project_refusals(services, parent, manifests)
    allowed = [doc for doc in parsed if (_kind(doc), doc.name) not in refused]
    written, owned_elsewhere = register_for_parent(store, parent, allowed)
    names = set(written)
    # Only what the parent no longer renders at all goes: an invalid or refused child stays.
    rendered = {child_name(m) for m in manifests if m.get("kind") != PROJECT_KIND}
    removed = [child for child in store.children_of(parent) if child not in rendered]
    deleted: list[str] = []
    if prune:
        for child in removed:
            manifest = store.app_manifest(child) or {}
            cascade = RESOURCES_FINALIZER in ((manifest.get("metadata") or {}).get("finalizers") or [])
            delete_application(services, child, cascade=cascade)
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
    not_registered = list(refused.values()) + [
        f"{exc.kind} {exc.name!r} is registered by {describe_owner(exc.owner)}: not overwritten"
        for exc in owned_elsewhere
    ]
    if not_registered:
        parts.append("not registered: " + " | ".join(not_registered))
    return "; ".join(parts)


def project_refusals(services: Services, parent: str, manifests: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """The children the parent's project refuses now, by (kind, name); all of them when the
    parent or its project cannot be read."""
    try:
        app = load_application(services.store, parent)
    except (UnknownApplication, SpecError) as exc:
        return _all_refused(manifests, f"parent application {parent!r} cannot be read: {exc}")
    project, problem = project_for(services.store, app)
    if project is None:
        return _all_refused(manifests, problem)
    return check_children(project, app, manifests, [], lambda name: registered_project(services.store, name))


def _all_refused(manifests: list[dict[str, Any]], why: str) -> dict[tuple[str, str], str]:
    return {(str(m.get("kind") or "Application"), child_name(m)): why for m in manifests}


def _kind(doc: Application | AppProject) -> str:
    return PROJECT_KIND if isinstance(doc, AppProject) else "Application"


def child_name(manifest: dict[str, Any]) -> str:
    """The name a rendered child document gives itself, or a placeholder saying it has none."""
    name = (manifest.get("metadata") or {}).get("name") if isinstance(manifest.get("metadata"), dict) else None
    return str(name) if name else "(unnamed)"
