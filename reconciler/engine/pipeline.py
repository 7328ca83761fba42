"""The one compare pipeline: authorise -> resolve -> render -> compare (with health).

    desired(app, project, git, ...)           -> DesiredState   authorise, resolve, render
    compare_app(app, project, git, cluster, ...) -> AppComparison  ... then diff and health

Every caller goes through here: a poll (reconciler/control/poll.py), the start of a sync
(control/sync.py), a sync preview (control/preview.py), `reconciler render|diff -f`
(cli/offline.py) and through them the API. So the AppProject's rules are checked in one
place, before any git, render or cluster call: a repository the project does not allow is
never fetched, whoever asks.

It takes its collaborators as parameters (the project already loaded, a Git source, a
cluster, an optional render cache) and touches no Redis, so it runs the same in a worker,
the API and a laptop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.engine.cluster import Cluster
from reconciler.engine.compare import Comparison, DesiredState, compare, compare_with_inventory, is_child_app
from reconciler.engine.live_view import LiveView
from reconciler.engine.project_rules import check_application, check_resource
from reconciler.model import Application, AppProject
from reconciler.model.resources import ResourceKey
from reconciler.source.git.client import GitSource
from reconciler.source.git.urls import repo_location
from reconciler.source.render import RenderError, render, source_fingerprint

# (read, write) of rendered manifests by cache key; a preview passes a write that does nothing.
RenderCache = tuple[Callable[[str], list[dict[str, Any]] | None], Callable[[str, list[dict[str, Any]]], None]]


class AccessDenied(Exception):
    """The app's AppProject forbids it (source repository, destination) or it has no valid
    project. Raised before any git, render or cluster call; the message names the rule."""


@dataclass(frozen=True)
class AppComparison:
    desired: DesiredState
    comparison: Comparison
    # What the project forbids among the rendered objects ("" when nothing): a sync refuses
    # to start, a poll reports it as a condition and does not auto-sync.
    refused: str = ""


def authorise(app: Application, project: AppProject | None, project_problem: str = "") -> None:
    """Raise AccessDenied when `project` (None: it could not be loaded, see `project_problem`)
    does not allow `app`'s source and destination."""
    if project is None:
        raise AccessDenied(project_problem or f"spec.project: project {app.project!r} is not available")
    problems = check_application(project, app)
    if problems:
        raise AccessDenied("; ".join(problems))


def render_cache_key(app: Application, revision: str) -> str:
    return f"{revision}:{source_fingerprint(app)}"


def desired(
    app: Application,
    project: AppProject | None,
    git: GitSource,
    *,
    revision: str = "",
    commit: str = "",
    fresh_refs: bool = False,
    cluster_scoped: Iterable[tuple[str, str]] = (),
    cache: RenderCache | None = None,
    project_problem: str = "",
) -> DesiredState:
    """Authorise, resolve `revision` (a branch, tag or SHA; "" for spec.source.targetRevision)
    and render, from `cache` when it has the render. `commit` is a full SHA resolved already
    (a verified webhook's): it is used as it is. Raises AccessDenied, GitError, RenderError;
    a failed render yields nothing at all."""
    authorise(app, project, project_problem)
    repo = repo_location(app.source.repo_url)
    sha = commit or git.resolve(repo, revision or app.source.target_revision, refresh=fresh_refs)
    key = render_cache_key(app, sha)
    rendered = cache[0](key) if cache else None
    hit = rendered is not None
    if rendered is None:
        tree = git.snapshot(repo, sha)
        rendered = render(app, tree, cluster_scoped=set(cluster_scoped))
        if cache:
            cache[1](key, rendered)
    objects = [obj for obj in rendered if not is_child_app(obj)]
    children = [obj for obj in rendered if is_child_app(obj)]
    _refuse_unnamed(objects)
    return DesiredState(revision=sha, objects=objects, child_apps=children, cache_hit=hit)


def _refuse_unnamed(objects: list[dict[str, Any]]) -> None:
    """An object without metadata.name cannot be compared, tracked or pruned: each apply would
    make a new one. Refused as a whole render, so nothing of it is applied."""
    unnamed = [obj for obj in objects if not (obj.get("metadata") or {}).get("name")]
    if not unnamed:
        return
    shown = []
    for obj in unnamed[:5]:
        kind, generate = obj.get("kind", "?"), (obj.get("metadata") or {}).get("generateName")
        shown.append(f"{kind} with generateName {generate!r}" if generate else str(kind))
    raise RenderError(
        f"{len(unnamed)} object(s) have no metadata.name ({', '.join(shown)}): give each a name; "
        "metadata.generateName is only for resource hooks (annotation argocd.argoproj.io/hook)"
    )


def compare_app(
    app: Application,
    project: AppProject | None,
    git: GitSource,
    cluster: Cluster,
    *,
    revision: str = "",
    commit: str = "",
    fresh_refs: bool = False,
    cache: RenderCache | None = None,
    inventory: Mapping[str, Mapping[str, Any]] | None = None,
    verified: Mapping[str, str] | None = None,
    project_problem: str = "",
    live: LiveView | None = None,
) -> AppComparison:
    """The whole pipeline. `inventory` (what the app applied before) says where to look for
    prune candidates; None looks at every kind the cluster serves (`reconciler diff -f`).
    `verified` comes from the previous comparison (objects unchanged since need no dry-run).
    `live`: the watcher's live state (a poll passes it; a sync asks the server itself)."""
    state = desired(
        app,
        project,
        git,
        revision=revision,
        commit=commit,
        fresh_refs=fresh_refs,
        # Discovery as the watcher last saw it, so a poll need not ask the server.
        cluster_scoped=(live.cluster_scoped_kinds() if live else None) or cluster.cluster_scoped_kinds(),
        cache=cache,
        project_problem=project_problem,
    )
    assert project is not None  # authorise() raised otherwise
    refused = resource_problems(project, app, cluster, state.objects)
    if inventory is None:
        comparison = compare(cluster, app, state, live_types=None, verified=verified)
    else:
        comparison = compare_with_inventory(cluster, app, state, inventory, verified=verified, live_view=live)
    return AppComparison(desired=state, comparison=comparison, refused=refused)


def resource_problems(
    project: AppProject, app: Application, cluster: Cluster, objects: list[dict[str, Any]]
) -> str:
    """Every rendered object the project does not permit (kind lists, namespaces), joined."""
    problems = []
    for obj in objects:
        key = ResourceKey.of(obj)
        namespaced = cluster.is_namespaced(str(obj.get("apiVersion")), key.kind) if key.kind else True
        found = check_resource(project, key, namespaced, destination=app.destination)
        if found:
            problems.append(found)
    return "; ".join(problems)
