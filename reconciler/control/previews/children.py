"""Apps a change adds or removes through an app-of-apps: child Applications the parent renders
at head but not at base are previewed as `added` (rendered at head, compared with the cluster);
those it renders at base only are `removed`, with the objects a cascade delete would take when
the child carries Argo CD's resources finalizer (control/children.py deregisters it either way)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler.control.previews.app_preview import AppPreview, Commits, preview_app
from reconciler.control.previews.document import app_entry, error_entry
from reconciler.engine.compare import DesiredState
from reconciler.model import APPLICATION_KIND, RESOURCES_FINALIZER, SpecError, parse_application
from reconciler.model.parse_appset import parse_appset
from reconciler.model.resources import ResourceKey
from reconciler.services import Services


def _applications(state: DesiredState | None, kind: str = APPLICATION_KIND) -> dict[str, dict[str, Any]]:
    found = {}
    for manifest in state.child_apps if state is not None else []:
        if str(manifest.get("kind") or APPLICATION_KIND) != kind:
            continue
        name = (manifest.get("metadata") or {}).get("name")
        if isinstance(name, str) and name:
            found[name] = manifest
    return found


def _project(manifest: dict[str, Any]) -> str:
    return str((manifest.get("spec") or {}).get("project") or "default")


def child_entries(
    services: Services, parent: AppPreview, commits: Commits, registered: Callable[[str], bool]
) -> list[dict[str, Any]]:
    """Entries of the children the parent's change adds or removes. `registered(name)`: an app
    the system knows already is previewed as itself, not as added."""
    if parent.head is None or parent.entry["status"] in ("unchanged", "error"):
        return []
    before, after = _applications(parent.base), _applications(parent.head)
    entries = []
    for name in sorted(set(after) - set(before)):
        if registered(name):
            continue
        try:
            child = parse_application(after[name], source_file=f"application {name} rendered by {parent.entry['name']}")
        except SpecError as exc:
            entries.append(error_entry(name, _project(after[name]), str(exc)))
            continue
        entries.append(preview_app(services, child, commits, added=True).entry)
    if parent.base is not None:
        for name in sorted(set(before) - set(after)):
            entries.append(removed_entry(services, name, before[name]))
    return entries + _set_entries(services, parent, commits, registered)


def _set_entries(
    services: Services, parent: AppPreview, commits: Commits, registered: Callable[[str], bool]
) -> list[dict[str, Any]]:
    """The apps each ApplicationSet the parent renders at head adds or removes."""
    from reconciler.control.previews.appsets import appset_entries

    before, after = _applications(parent.base, "ApplicationSet"), _applications(parent.head, "ApplicationSet")
    entries = []
    for name, manifest in sorted(after.items()):
        where = f"ApplicationSet {name} rendered by {parent.entry['name']}"
        try:
            appset = parse_appset(manifest, source_file=where)
            base_set = parse_appset(before[name], source_file=where) if name in before else None
        except SpecError as exc:
            entries.append(error_entry(f"ApplicationSet {name}", _project(manifest), str(exc)))
            continue
        entries += appset_entries(services, appset, commits, registered, base_set)
    return entries


def removed_entry(services: Services, name: str, manifest: dict[str, Any]) -> dict[str, Any]:
    finalizers = (manifest.get("metadata") or {}).get("finalizers") or []
    objects = []
    if RESOURCES_FINALIZER in finalizers:
        for resource in sorted(services.store.inventory(name)):
            try:
                key = ResourceKey.from_inventory_id(resource)
            except ValueError:
                continue
            objects.append({"group": key.group, "kind": key.kind, "namespace": key.namespace, "name": key.name,
                            "change": "pruned", "diff": ""})  # fmt: skip
    return app_entry(name, _project(manifest), "removed", objects=objects)
