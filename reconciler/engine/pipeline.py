"""The one compare pipeline: authorise -> resolve -> render -> compare (with health).

    desired(app, project, git, ...)           -> DesiredState   authorise, resolve, render
    compare_app(app, project, git, cluster, ...) -> AppComparison  ... then diff and health

Every caller goes through here: a poll (reconciler/control/poll.py), the start of a sync
(control/sync.py), a dry-run sync (control/dry_run_sync.py), `reconciler render|diff -f`
(cli/offline.py) and through them the API. So the AppProject's rules are checked in one
place, before any git, render or cluster call: a repository the project does not allow is
never fetched, whoever asks. After the render, every object it yielded (resources, hooks of
every phase, CreateNamespace's Namespace, child apps and projects) passes the project too
(engine/project_check.py), before a sync may apply anything.

It takes its collaborators as parameters (the project already loaded, a Git source, a
cluster, an optional render cache) and touches no Redis, so it runs the same in a worker,
the API and a laptop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.core.errors import InputError
from reconciler.core.urls import repo_location
from reconciler.engine.child_rules import ProjectLookup, no_projects
from reconciler.engine.cluster import Cluster, UnknownKindError
from reconciler.engine.compare import (
    Comparison,
    DesiredState,
    ResourceState,
    compare,
    compare_with_inventory,
    is_child_app,
)
from reconciler.engine.diff.resource_diff import ResourceSyncStatus, app_sync_status
from reconciler.engine.health.rules.configured import Customizations
from reconciler.engine.hooks import HOOK_ANNOTATION, SKIP, HookError, split_hooks
from reconciler.engine.live_view import LiveView
from reconciler.engine.project_check import check_render
from reconciler.engine.project_rules import check_application, check_resource, source_repo_problem
from reconciler.model import Application, AppProject, Source
from reconciler.model.resources import SYNC_OPTIONS_ANNOTATION, ResourceKey
from reconciler.model.sync_options import resource_option_problem
from reconciler.source.git.client import GitSource
from reconciler.source.helm import ChartRepositories
from reconciler.source.render import (
    Capabilities,
    RenderError,
    render,
    render_manifests,
    render_sources,
    source_fingerprint,
)

# A multi-source app's revision: each source's (commit SHA or chart version), in order.
REVISION_SEPARATOR = ";"
# (read, write) of rendered manifests by cache key; a preview passes a write that does nothing.
RenderCache = tuple[Callable[[str], list[dict[str, Any]] | None], Callable[[str, list[dict[str, Any]]], None]]


class AccessDenied(InputError):
    """The app's AppProject forbids it (source repository, destination) or it has no valid
    project. Raised before any git, render or cluster call; the message names the rule."""


@dataclass(frozen=True)
class AppComparison:
    desired: DesiredState
    comparison: Comparison
    # What the project forbids among everything rendered ("" when nothing): a sync refuses to
    # start, a poll reports it as a condition and does not auto-sync (engine/project_check.py).
    refused: str = ""
    # Child Applications/AppProjects/ApplicationSets the project refuses, by (kind, name).
    children: Mapping[tuple[str, str], str] = field(default_factory=dict)


def authorise(app: Application, project: AppProject | None, project_problem: str = "") -> None:
    """Raise AccessDenied when `project` (None: it could not be loaded, see `project_problem`)
    does not allow `app`'s source and destination."""
    if project is None:
        raise AccessDenied(project_problem or f"spec.project: project {app.project!r} is not available")
    problems = check_application(project, app)
    if problems:
        raise AccessDenied("; ".join(problems))


def _repo_rule(project: AppProject | None) -> Callable[[str], str]:
    """The project's sourceRepos as a render applies them to the repositories it fetches from
    (chart dependencies): why a URL may not be fetched, "" when it may."""
    return lambda url: source_repo_problem(project, url) if project is not None else ""


def render_cache_key(app: Application, revision: str, capabilities: Capabilities | None = None) -> str:
    return f"{revision}:{source_fingerprint(app, capabilities)}"


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
    charts: ChartRepositories | None = None,
    capabilities: Capabilities | None = None,
) -> DesiredState:
    """Authorise, resolve `revision` (a branch, tag or SHA; "" for spec.source.targetRevision;
    for a `chart` source a version or constraint) and render, from `cache` when it has the
    render. `commit` is a full SHA resolved already (a verified webhook's): it is used as it
    is. `charts` reads Helm repositories (chart sources, chart dependencies); `capabilities`
    are the destination's, for Helm. Raises AccessDenied, GitError, RenderError; a failed
    render yields nothing at all."""
    authorise(app, project, project_problem)
    if app.sources:
        # A webhook's commit belongs to one repository: list every source's refs afresh instead.
        return _desired_from_sources(
            app, git, charts, revision, fresh_refs or bool(commit), set(cluster_scoped), cache, capabilities,
            _repo_rule(project),
        )  # fmt: skip
    source = _resolve_source(
        app.source, revision or app.source.target_revision, "spec.source", git, charts, commit, fresh_refs
    )
    key = render_cache_key(app, source.cache_part, capabilities)
    rendered = cache[0](key) if cache else None
    hit = rendered is not None
    if rendered is None:
        tree = _tree(app.source, source, git, charts)
        rendered = render(
            app, tree, cluster_scoped=set(cluster_scoped), charts=charts, capabilities=capabilities,
            revision=source.revision,
            allow_repo=_repo_rule(project),
        )  # fmt: skip
        if cache:
            cache[1](key, rendered)
    return _desired_state(source.revision, rendered, hit)


@dataclass(frozen=True)
class _ResolvedSource:
    revision: str  # what status and history show: a commit SHA, or a chart version
    cache_part: str  # what the render cache key holds: the SHA, or version@digest
    origin: Any  # the repository location, or the resolved chart


def _resolve_source(
    source: Source,
    wanted: str,
    field: str,
    git: GitSource,
    charts: ChartRepositories | None,
    commit: str = "",
    fresh_refs: bool = False,
) -> _ResolvedSource:
    if source.chart:
        if charts is None:
            raise RenderError(f"{field}.chart: Helm repositories cannot be read here")
        chart = charts.resolve(source.repo_url, source.chart, wanted, field=field)
        # A version's archive may be replaced in a repository: the digest keeps the cache honest.
        return _ResolvedSource(chart.version, f"{chart.version}@{chart.digest}", chart)
    repo = repo_location(source.repo_url)
    sha = commit or git.resolve(repo, wanted, refresh=fresh_refs)
    return _ResolvedSource(sha, sha, repo)


def _tree(source: Source, resolved: _ResolvedSource, git: GitSource, charts: ChartRepositories | None) -> Path:
    """The files a source renders from: the chart unpacked, or the commit's snapshot."""
    if source.chart and charts is not None:
        return charts.expanded(resolved.origin, pass_credentials=bool(source.helm and source.helm.pass_credentials))
    return git.snapshot(resolved.origin, resolved.revision)


def _desired_state(revision: str, rendered: list[dict[str, Any]], cache_hit: bool) -> DesiredState:
    """Rendered objects sorted into child apps, hooks and the app's own objects, with the checks
    every source type shares."""
    children = [obj for obj in rendered if is_child_app(obj)]
    # Hooks come out before the name check: a generateName hook is named by the server.
    try:
        objects, hooks = split_hooks([obj for obj in rendered if not is_child_app(obj)])
    except HookError as exc:
        raise RenderError(str(exc)) from None
    _refuse_unnamed(objects)
    _refuse_unsupported_options(objects + [hook.obj for hook in hooks])
    skipped = frozenset(ResourceKey.of(obj) for obj in rendered if _skip_hook(obj))
    return DesiredState(
        revision=revision, objects=objects, child_apps=children, cache_hit=cache_hit, hooks=hooks, skipped=skipped
    )


def _skip_hook(obj: dict[str, Any]) -> bool:
    """`argocd.argoproj.io/hook: Skip` (Argo CD's hook.Skip): the object is not applied."""
    phases = str(((obj.get("metadata") or {}).get("annotations") or {}).get(HOOK_ANNOTATION) or "")
    return SKIP in [phase.strip() for phase in phases.split(",")]


def _refuse_unsupported_options(objects: list[dict[str, Any]]) -> None:
    """A sync option this system does not implement is refused by name, never ignored."""
    problems = []
    for obj in objects:
        raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(SYNC_OPTIONS_ANNOTATION)
        if raw is None:
            continue
        for option in (part.strip() for part in str(raw).split(",")):
            problem = resource_option_problem(option) if option else None
            if problem:
                meta = obj.get("metadata") or {}
                name = meta.get("name") or meta.get("generateName", "")
                problems.append(f"{obj.get('kind', '?')} {name}: annotation {SYNC_OPTIONS_ANNOTATION}: {problem}")
    if problems:
        raise RenderError("; ".join(problems))


def _desired_from_sources(
    app: Application,
    git: GitSource,
    charts: ChartRepositories | None,
    revision: str,
    fresh_refs: bool,
    cluster_scoped: set[tuple[str, str]],
    cache: RenderCache | None,
    capabilities: Capabilities | None,
    allow_repo: Callable[[str], str],
) -> DesiredState:
    """A multi-source app: every source resolved (its revision in the composite `a;b;...`
    revision, which pins all of them when given back, as a rollback does), then rendered
    together; `ref` sources lend their trees to `$ref/...` value files."""
    pinned = revision.split(REVISION_SEPARATOR) if revision else []
    if pinned and len(pinned) != len(app.sources):
        raise RenderError(
            f"revision {revision!r} gives {len(pinned)} revision(s) for {len(app.sources)} sources: "
            f"give one per source, in order, separated by {REVISION_SEPARATOR!r}"
        )
    resolved = [
        _resolve_source(
            source, pinned[index] if pinned else source.target_revision, f"spec.sources[{index}]", git, charts,
            fresh_refs=fresh_refs,
        )
        for index, source in enumerate(app.sources)
    ]
    combined = REVISION_SEPARATOR.join(entry.revision for entry in resolved)
    key = render_cache_key(app, REVISION_SEPARATOR.join(entry.cache_part for entry in resolved), capabilities)
    rendered = cache[0](key) if cache else None
    hit = rendered is not None
    if rendered is None:
        trees = [_tree(source, entry, git, charts) for source, entry in zip(app.sources, resolved, strict=True)]
        refs = {source.ref: tree for source, tree in zip(app.sources, trees, strict=True) if source.ref}
        parts = []
        for index, (source, tree, entry) in enumerate(zip(app.sources, trees, resolved, strict=True)):
            if not source.renders:
                continue
            single = dataclasses.replace(app, source=source, sources=())
            try:
                parts.append(render_manifests(
                    single, tree, charts=charts, capabilities=capabilities, refs=refs, revision=entry.revision,
                    allow_repo=allow_repo,
                ))  # fmt: skip
            except RenderError as err:
                raise RenderError(f"spec.sources[{index}]: {err.message}", file=err.file, line=err.line) from None
        rendered = render_sources(app, parts, cluster_scoped)
        if cache:
            cache[1](key, rendered)
    return _desired_state(combined, rendered, hit)


def revisions_of(revision: str) -> list[str]:
    """Each source's revision in a (composite) revision."""
    return revision.split(REVISION_SEPARATOR) if revision else []


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
    charts: ChartRepositories | None = None,
    live: LiveView | None = None,
    projects: ProjectLookup | None = None,
    customizations: Customizations,
) -> AppComparison:
    """The whole pipeline. `inventory` (what the app applied before) says where to look for
    prune candidates; None looks at every kind the cluster serves (`reconciler diff -f`).
    `customizations`: the process's resource customizations (health checks, ignore rules).
    `verified` comes from the previous comparison (objects unchanged since need no dry-run).
    `live`: the watcher's live state (a poll passes it; a sync asks the server itself).
    `projects` finds other projects by name (a child app's); None knows only `default`."""
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
        charts=charts,
        capabilities=cluster.capabilities(),
    )
    assert project is not None  # authorise() raised otherwise
    scope = object_scope(cluster)
    verdict = check_render(project, app, state, scope, projects or no_projects, cluster.managed_scope)
    if inventory is None:
        comparison = compare(cluster, app, state, live_types=None, verified=verified, customizations=customizations)
    else:
        comparison = compare_with_inventory(
            cluster, app, state, inventory, verified=verified, live_view=live, customizations=customizations
        )
    comparison = _mark_forbidden(project, app, comparison, verdict.forbidden, scope)
    return AppComparison(desired=state, comparison=comparison, refused=verdict.refused, children=verdict.children)


def object_scope(cluster: Cluster) -> Callable[[dict[str, Any]], bool]:
    """Whether a rendered object is namespaced, by the cluster's discovery (the render's settled
    namespace for a kind the cluster does not serve yet)."""

    def namespaced(obj: dict[str, Any]) -> bool:
        kind = str(obj.get("kind") or "")
        try:
            return cluster.is_namespaced(str(obj.get("apiVersion")), kind) if kind else True
        except UnknownKindError:
            # A kind not served yet (its CRD comes with the app or later): the render settled
            # its namespace from the CRD's scope, or gave it the destination's.
            return bool((obj.get("metadata") or {}).get("namespace"))

    return namespaced


def _mark_forbidden(
    project: AppProject,
    app: Application,
    comparison: Comparison,
    forbidden: Mapping[ResourceKey, str],
    namespaced: Callable[[dict[str, Any]], bool],
) -> Comparison:
    """Resources the project forbids get sync status Unknown and the rule as their message, as
    Argo CD shows them. A live-only (Extra) one is never pruned and, as Argo CD ignores live
    objects of kinds the project does not permit, does not make the app OutOfSync."""
    marked: list[ResourceState] = []
    ignored: set[ResourceKey] = set()
    for resource in comparison.resources:
        problem = forbidden.get(resource.key)
        if problem is None and resource.diff.status == ResourceSyncStatus.EXTRA and resource.diff.live is not None:
            problem = check_resource(
                project, resource.key, namespaced(resource.diff.live), destination=app.destination
            )
            if problem:
                problem += "; not pruned"
                ignored.add(resource.key)
        if problem is None:
            marked.append(resource)
            continue
        diff = dataclasses.replace(resource.diff, status=ResourceSyncStatus.UNKNOWN)
        marked.append(dataclasses.replace(resource, diff=diff, message=problem))
    if not forbidden and not ignored:
        return comparison
    counted = [r.diff for r in comparison.resources if r.key not in ignored]
    return dataclasses.replace(comparison, resources=marked, sync_status=app_sync_status(counted))
