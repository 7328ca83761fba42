"""One app of a preview: render at base and at head (through the render cache), and when they
differ, compare head with the live state the way a poll does (server-side dry-runs, the app's
ignore rules, Secret values masked by engine/diff), keeping the objects the change concerns.

Nothing here writes to a cluster: the compare pipeline's only writes are dry-runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.control.catalog import project_for
from reconciler.control.comparing import compare_registered
from reconciler.control.previews.document import app_entry, error_entry
from reconciler.control.windows import sync_allowed
from reconciler.core.errors import ReconcilerError
from reconciler.core.urls import same_repository
from reconciler.engine.compare import DesiredState, manifest_hash
from reconciler.engine.diff.resource_diff import ResourceSyncStatus
from reconciler.engine.live_view import content_hash
from reconciler.engine.pipeline import AccessDenied, AppComparison, authorise, desired
from reconciler.model import Application
from reconciler.model.resources import ResourceKey
from reconciler.services import Services
from reconciler.source.render import RenderError

_CHANGES = {
    ResourceSyncStatus.MISSING: "added",
    ResourceSyncStatus.OUT_OF_SYNC: "changed",
    ResourceSyncStatus.EXTRA: "pruned",
}


@dataclass(frozen=True)
class Commits:
    repo_url: str
    base: str  # full SHAs
    head: str


@dataclass(frozen=True)
class AppPreview:
    entry: dict[str, Any]
    base: DesiredState | None = None  # None: not rendered (an added app) or the render failed
    head: DesiredState | None = None


def revision_for(app: Application, repo_url: str, commit: str) -> str:
    """The revision that renders `app` with `repo_url` at `commit`: the commit itself, or for a
    multi-source app every source's (its own target for sources from elsewhere)."""
    if not app.sources:
        return commit
    return ";".join(
        commit if not s.chart and same_repository(s.repo_url, repo_url) else s.target_revision for s in app.sources
    )


def render_digest(state: DesiredState) -> str:
    return content_hash({
        "objects": state.objects, "hooks": [hook.obj for hook in state.hooks], "children": state.child_apps,
    })  # fmt: skip


def _render(services: Services, app: Application, revision: str) -> DesiredState:
    """The app's desired state at `revision`, read from (and written to) the render cache under
    the key a poll of that commit uses."""
    store = services.store
    project, problem = project_for(store, app)
    cluster = services.clusters.for_destination(app.destination)
    return desired(
        app, project, services.git, revision=revision, cluster_scoped=cluster.cluster_scoped_kinds(),
        cache=(store.cached_render, store.cache_render), project_problem=problem, charts=services.charts,
        capabilities=cluster.capabilities(),
    )  # fmt: skip


def _failure(app: Application, exc: ReconcilerError) -> dict[str, Any]:
    project = app.project or "default"
    if isinstance(exc, RenderError):
        return error_entry(app.name, project, exc.message, exc.file, exc.line)
    return error_entry(app.name, project, str(exc))


def preview_app(services: Services, app: Application, commits: Commits, *, added: bool = False) -> AppPreview:
    """The preview entry of `app` (`added`: an app the change brings, with nothing at base)."""
    project, problem = project_for(services.store, app)
    try:
        authorise(app, project, problem)
    except AccessDenied as exc:
        entry = error_entry(app.name, app.project or "default", str(exc))
        entry["refused"] = [{"reason": "project", "message": str(exc)}]
        return AppPreview(entry)
    base: DesiredState | None = None
    if not added:
        try:
            base = _render(services, app, revision_for(app, commits.repo_url, commits.base))
        except ReconcilerError:
            base = None  # broken before the change: the head render alone decides
    head_revision = revision_for(app, commits.repo_url, commits.head)
    try:
        head = _render(services, app, head_revision)
    except ReconcilerError as exc:
        return AppPreview(_failure(app, exc), base)
    if base is not None and render_digest(base) == render_digest(head):
        return AppPreview(app_entry(app.name, app.project or "default", "unchanged"), base, head)
    try:
        result = compare_registered(services, app, revision=head_revision)
    except ReconcilerError as exc:
        return AppPreview(_failure(app, exc), base, head)
    entry = app_entry(
        app.name, app.project or "default", "added" if added else "changed",
        objects=changed_objects(base, result), hooks=hooks_of(head), refused=refusals(services, app, result),
    )  # fmt: skip
    return AppPreview(entry, base, head)


def _differing(base: DesiredState | None, head: DesiredState) -> set[ResourceKey] | None:
    """Keys whose manifest differs between the renders (None: no base render, every key)."""
    if base is None:
        return None
    before = {ResourceKey.of(obj): manifest_hash(obj) for obj in base.objects}
    after = {ResourceKey.of(obj): manifest_hash(obj) for obj in head.objects}
    return {key for key in set(before) | set(after) if before.get(key) != after.get(key)}


def changed_objects(base: DesiredState | None, result: AppComparison) -> list[dict[str, Any]]:
    """What the cluster would change, for each object the change touches: added (the server
    would create it), changed (the dry-run differs from live) or pruned (live, tracked, gone
    from Git). An object the change touches that the cluster already holds as head renders it
    is left out."""
    differing = _differing(base, result.desired)
    objects = []
    for state in result.comparison.resources:
        if differing is not None and state.key not in differing:
            continue
        status = state.diff.status
        change = _CHANGES.get(status)
        if status == ResourceSyncStatus.UNKNOWN:  # forbidden by the project: in `refused` too
            change = "added" if state.diff.live is None else "changed"
        if change is None:
            continue
        key = state.key
        item = {"group": key.group, "kind": key.kind, "namespace": key.namespace, "name": key.name,
                "change": change, "diff": state.diff.text}  # fmt: skip
        if state.error or state.message:
            item["message"] = state.error or state.message
        objects.append(item)
    return objects


def hooks_of(state: DesiredState) -> list[dict[str, Any]]:
    """The hooks the next sync would run, one entry per phase."""
    return [
        {"phase": phase, "kind": str(hook.obj.get("kind") or ""), "namespace": str(hook.meta.get("namespace") or ""),
         "name": hook.display_name}
        for hook in state.hooks
        for phase in hook.phases
    ]  # fmt: skip


def refusals(services: Services, app: Application, result: AppComparison) -> list[dict[str, str]]:
    """What would stop the change from reaching the cluster: the project, a sync window."""
    refused = []
    if result.refused:
        refused.append({"reason": "project", "message": result.refused})
    permission = sync_allowed(services.store, app, manual=False)
    if not permission.allowed:
        refused.append({"reason": "syncWindow", "message": permission.reason})
    return refused
