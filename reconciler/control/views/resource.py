"""`GET .../resource`: one of the app's objects as it is live and as Git wants it, the diff and
why it differs field by field (engine/diff/why.py). Run by a worker (the API never renders):
the app is compared as a poll compares it (the render cache, a dry-run where needed) and
nothing is written.

Secret values are masked exactly as `app diff` masks them (engine/diff/secret_mask.py), in the
live and desired manifests, the diff and the reasons alike.
"""

from __future__ import annotations

from typing import Any

from reconciler.control.catalog import load_application
from reconciler.control.comparing import compare_registered
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


def resource_view(services: Services, name: str, key: ResourceKey) -> dict[str, Any]:
    app = load_application(services.store, name)
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
