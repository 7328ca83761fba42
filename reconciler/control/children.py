"""App-of-apps: Applications (and ApplicationSets, AppProjects) rendered by a parent are
registered, not applied.

Registration is the last gate: each child passes the parent's project again (engine/child_rules.py;
the sync was refused already when one did not, this catches a project changed meanwhile), and a
child, set or project someone else registered (an admin, another parent) is never overwritten
(catalog.register_for_parent, atomic in Redis for apps and projects). A child the parent no
longer renders is deregistered when the parent prunes, if the parent registered it; its own
resources are deleted only when it carries Argo CD's resources finalizer, as in Argo CD (a
delete operation of its own, asked for here and queued by the parent's finish step).
"""

from __future__ import annotations

from typing import Any

from reconciler.control.appsets.reconcile import delete_appset
from reconciler.control.catalog import (
    UnknownApplication,
    describe_owner,
    load_application,
    project_for,
    register_for_parent,
    registered_project,
)
from reconciler.control.sync.operation import DeleteRequest
from reconciler.control.teardown import delete_without_waiting
from reconciler.engine.child_rules import check_children, parse_child
from reconciler.model import PROJECT_KIND, RESOURCES_FINALIZER, Application, AppProject, SpecError
from reconciler.model.appset_types import ApplicationSet
from reconciler.services import Services

Child = Application | AppProject | ApplicationSet


def parse_children(parent: str, manifests: list[dict[str, Any]]) -> tuple[list[Child], list[tuple[str, str]]]:
    """Parsed child documents, and (child name, reason) for each child that is not valid."""
    parsed: list[Child] = []
    problems: list[tuple[str, str]] = []
    for manifest in manifests:
        try:
            parsed.append(parse_child(parent, manifest))
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
    refused = project_refusals(services, parent, manifests)
    allowed = [doc for doc in parsed if (_kind(doc), doc.name) not in refused]
    written, owned_elsewhere = register_for_parent(store, parent, allowed)
    sets = {doc.name for doc in allowed if isinstance(doc, ApplicationSet)}
    names = set(written) - sets
    # Only what the parent no longer renders at all goes: an invalid or refused child stays.
    rendered = {child_name(m) for m in manifests if m.get("kind") != PROJECT_KIND}
    removed = [child for child in store.children_of(parent) if child not in rendered]
    removed_sets = [name for name in store.appsets_of_parent(parent) if name not in rendered]
    deleted: list[str] = []
    deletes: list[DeleteRequest] = []
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
    return _summary(names, sets, deleted, removed + removed_sets, problems, refused, owned_elsewhere), deletes


def _summary(
    names: set[str], sets: set[str], deleted: list[str], removed: list[str], problems: list[tuple[str, str]],
    refused: dict[tuple[str, str], str], owned_elsewhere: list[Any],
) -> str:
    parts = []
    if names:
        parts.append(f"{len(names)} child application(s) registered")
    if sets:
        parts.append(f"{len(sets)} ApplicationSet(s) registered")
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


def _kind(doc: Child) -> str:
    if isinstance(doc, AppProject):
        return PROJECT_KIND
    return "ApplicationSet" if isinstance(doc, ApplicationSet) else "Application"


def child_name(manifest: dict[str, Any]) -> str:
    """The name a rendered child document gives itself, or a placeholder saying it has none."""
    name = (manifest.get("metadata") or {}).get("name") if isinstance(manifest.get("metadata"), dict) else None
    return str(name) if name else "(unnamed)"
