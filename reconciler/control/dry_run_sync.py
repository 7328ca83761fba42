"""A dry-run sync: what a sync of an application would apply and prune, computed now.

The same steps as the start of a real sync (reconciler/operation.py: resolve, render,
project checks, compare, plan) without taking the app's lock and without writing to
the cluster or to Redis (the render cache is read, never filled). Answers
`POST /api/v1/applications/{name}/sync` with `{"dryRun": true}`, like
`argocd app sync --dry-run`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reconciler.control.catalog import load_application
from reconciler.control.comparing import compare_registered
from reconciler.core.errors import ReconcilerError
from reconciler.engine.compare import Comparison
from reconciler.engine.diff.resource_diff import ResourceSyncStatus
from reconciler.engine.pipeline import AccessDenied
from reconciler.engine.plan import SyncPlan, build_plan
from reconciler.model import SpecError, with_source
from reconciler.model.resources import ResourceKey
from reconciler.services import Services


class PreviewError(ReconcilerError):
    """The plan cannot be computed (Git, render, cluster or plan input); the message names the app."""


def preview_sync(
    services: Services,
    name: str,
    *,
    revision: str = "",
    prune: bool = False,
    resources: list[str] | None = None,
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The plan a user's sync of `name` would run. Raises UnknownApplication, PreviewError.

    `prune` defaults to False as for any manual sync; `source` replaces spec.source (a
    rollback's recorded source). A plan the real sync would refuse has `refused` set.
    """
    app = load_application(services.store, name)
    if source is not None:
        try:
            app = with_source(app, source)
        except SpecError as exc:
            raise PreviewError(f"application {app.name!r}: recorded source is invalid: {exc}") from None
    try:
        selected = {ResourceKey.from_inventory_id(r) for r in resources or []} or None
    except ValueError as exc:
        raise PreviewError(f"resources: {exc}") from None
    try:
        result = compare_registered(services, app, revision=revision, fill_cache=False)
        desired, comparison, refused = result.desired, result.comparison, result.refused
        plan = build_plan(
            app, desired.objects, comparison.diffs, prune=prune, resources=selected, dry_run=True, hooks=desired.hooks
        )
    except AccessDenied as exc:
        # Refused before any git call: nothing is known of the revision or the resources.
        return {
            "name": name, "dryRun": True, "revision": "", "prune": prune, "sync": "Unknown", "refused": str(exc),
            "namespaceToCreate": None, "waves": [], "pruneSkipped": [], "warnings": [], "resources": [],
        }
    except ReconcilerError as exc:
        raise PreviewError(f"application {name!r} cannot be planned: {exc}") from None
    return _describe(name, desired.revision, prune, plan, comparison, refused)


def _describe(
    name: str, revision: str, prune: bool, plan: SyncPlan, comparison: Comparison, refused: str
) -> dict[str, Any]:
    changed = [r for r in comparison.resources if r.diff.status != ResourceSyncStatus.SYNCED]
    blocked = refused or plan.refused or ""
    return {
        "name": name,
        "dryRun": True,
        "revision": revision,
        "prune": prune,
        "sync": comparison.sync_status.value,
        "refused": blocked or None,
        "namespaceToCreate": plan.namespace_to_create,
        "waves": [] if blocked else [
            {
                "wave": wave.number,
                "apply": [ResourceKey.of(obj).inventory_id for obj in wave.apply],
                "prune": [key.inventory_id for key in wave.prune],
            }
            for wave in plan.waves
        ],
        "hooks": [] if blocked else [
            {"phase": phase, "wave": wave.number, "hook": hook.describe()}
            for phase, waves in (
                ("PreSync", plan.hooks.pre_sync),
                ("Sync", plan.waves),
                ("PostSync", plan.hooks.post_sync),
                ("SyncFail", plan.hooks.sync_fail),
            )
            for wave in waves
            for hook in wave.hooks
        ],
        "pruneSkipped": [{"resource": key.inventory_id, "message": why} for key, why in plan.prune_skipped],
        "warnings": list(plan.warnings),
        "resources": [
            {
                **dataclasses.asdict(r.key),
                "resource": r.key.inventory_id,
                "status": r.diff.status.value,
                "diff": r.diff.text,
                "error": r.error,
            }
            for r in changed
        ],
    }
