"""`GET .../resource`: one of the app's objects as it is live and as Git wants it, the diff and
why it differs field by field (engine/diff/why.py). Run by a worker (the API never renders):
the app is compared as a poll compares it (the render cache, a dry-run where needed) and
nothing is written.

An object the app does not declare but owns through its objects (a Deployment's ReplicaSets and
Pods, a Job's Pods) is shown as it is live, as Argo CD's GetResource shows it: no desired
manifest, no diff, read without a comparison (the page reads a Pod's containers from it).

Secret values are masked exactly as `app diff` masks them (engine/diff/secret_mask.py), in the
live and desired manifests, the diff and the reasons alike.
"""

from __future__ import annotations

from typing import Any

from reconciler.control.catalog import load_application
from reconciler.control.comparing import compare_registered
from reconciler.control.views.scope import NotInApplication, scope_of
from reconciler.core.errors import InputError
from reconciler.engine.cluster import KubeError
from reconciler.engine.diff.secret_mask import mask_secret_pair
from reconciler.engine.diff.why import explain
from reconciler.engine.health.rules.configured import with_system_ignore_differences
from reconciler.model.resources import ResourceKey
from reconciler.services import Services
from reconciler.source.git.client import GitError
from reconciler.source.render import RenderError


class ResourceViewError(InputError):
    """The resource cannot be shown (not the app's, or the app cannot be compared)."""


def _declared(services: Services, name: str, key: ResourceKey) -> bool:
    """Whether the last poll saw `key` among the app's own resources (those Git declares)."""
    for r in (services.store.status(name) or {}).get("resources") or []:
        if (r.get("group") or "", r.get("kind") or "", r.get("namespace") or "", r.get("name") or "") == \
                (key.group, key.kind, key.namespace, key.name):
            return True
    return False


def _owned_view(services: Services, name: str, key: ResourceKey) -> dict[str, Any]:
    scope = scope_of(services, name)  # NotInApplication for an object outside the app
    found = scope.find(kind=key.kind, namespace=key.namespace, name=key.name, group=key.group)
    try:
        live = scope.cluster.get(found.api_version, found.kind, found.namespace or None, found.name)
    except KubeError as exc:
        raise ResourceViewError(f"{key} cannot be read: {exc}") from None
    _desired, shown_live = mask_secret_pair(key, None, live)
    return {"liveManifest": shown_live, "desiredManifest": None, "diff": "", "sync": "", "why": []}


def resource_view(services: Services, name: str, key: ResourceKey) -> dict[str, Any]:
    app = load_application(services.store, name)
    if not _declared(services, name, key):
        try:
            return _owned_view(services, name, key)
        except NotInApplication:
            pass  # maybe declared since the last poll: the comparison below says
    cluster = services.clusters.for_destination(app.destination)
    try:
        result = compare_registered(services, app, fill_cache=False)
    except (GitError, RenderError, KubeError) as exc:
        raise ResourceViewError(f"application {name!r} cannot be compared now: {exc}") from None
    state = next((r for r in result.comparison.resources if r.key == key), None)
    desired = next((o for o in result.desired.objects if ResourceKey.of(o) == key), None)
    if state is None and desired is None:
        raise ResourceViewError(f"{key} is not a resource of application {name!r} (see its resource tree)")
    compared_live = state.diff.live if state is not None else None
    api_version = str((desired or compared_live or {}).get("apiVersion", ""))
    try:
        live = cluster.get(api_version, key.kind, key.namespace or None, key.name) if api_version else None
    except KubeError as exc:
        raise ResourceViewError(f"{key} cannot be read: {exc}") from None
    shown_desired, shown_live = mask_secret_pair(key, desired, live)
    return {
        "liveManifest": shown_live,
        "desiredManifest": shown_desired,
        "diff": state.diff.text if state is not None else "",
        "sync": state.diff.status.value if state is not None else "Unknown",
        "why": explain(
            key, desired, live, with_system_ignore_differences(app.ignore_differences, services.customizations()),
            cluster.field_manager,
        ),
    }
