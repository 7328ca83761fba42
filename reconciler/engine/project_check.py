"""Every object a render yields, against the app's AppProject, before anything is applied.

    check_render(project, app, state, namespaced, projects, managed) -> ProjectVerdict
    check_hooks(project, app, hooks, namespaced, managed) -> [why refused]

Argo CD validates each task of a sync, hooks included, against the project before it runs any
(gitops-engine's permission validator: "resource <group>:<kind> is not permitted in project",
"namespace <ns> is not permitted in project"), and the Namespace `CreateNamespace=true` makes
is such a task too. So here: the app's own objects, its hooks of every phase (PreSync, Sync,
PostSync, SyncFail, and the PreDelete/PostDelete hooks a cascade delete runs), the Namespace
of `CreateNamespace=true` (always written by a sync here, so always checked) and the child
Applications, AppProjects and ApplicationSets of an app of apps (engine/child_rules.py). One
refusal refuses the whole sync, so a forbidden PreSync hook means nothing runs at all.

A destination cluster whose Secret lists `namespaces` (Argo CD's namespaced mode,
engine/cluster/managed_scope.py) refuses objects outside them the same way, hooks and the
CreateNamespace Namespace included.

An object of the app the project forbids shows sync status Unknown (never applied or pruned),
as Argo CD shows it; one that is only live (Extra) is left alone and does not count towards
the app's sync status, as Argo CD leaves objects of kinds the project does not permit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.child_rules import ProjectLookup, check_children
from reconciler.engine.cluster.managed_scope import ManagedScope
from reconciler.engine.compare import DesiredState
from reconciler.engine.hooks import Hook
from reconciler.engine.project_rules import check_resource
from reconciler.model import Application, AppProject, Destination
from reconciler.model.resources import ResourceKey

# Whether an object is namespaced (the cluster's discovery, or the render's settled namespace).
Scope = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class ProjectVerdict:
    # The app's own objects (by key) the project forbids, and why.
    forbidden: dict[ResourceKey, str] = field(default_factory=dict)
    # Child Applications/AppProjects/ApplicationSets refused, by (kind, name), and why.
    children: dict[tuple[str, str], str] = field(default_factory=dict)
    # Every refusal in render order: objects, hooks, CreateNamespace's Namespace, children.
    problems: list[str] = field(default_factory=list)

    @property
    def refused(self) -> str:
        return "; ".join(self.problems)


def check_render(
    project: AppProject,
    app: Application,
    state: DesiredState,
    namespaced: Scope,
    projects: ProjectLookup,
    managed: ManagedScope | None = None,
) -> ProjectVerdict:
    """What `project` (and the destination cluster's `managed` scope) forbids of everything
    `app` rendered (`state`); `projects` finds other projects by name (a child's)."""
    forbidden: dict[ResourceKey, str] = {}
    for obj in state.objects:
        key = ResourceKey.of(obj)
        problem = _refusal(project, managed, key, namespaced(obj), destination=app.destination)
        if problem:
            forbidden[key] = problem
    problems = list(forbidden.values())
    problems += check_hooks(project, app, state.hooks, namespaced, managed)
    namespace = _created_namespace_problem(project, app, state.objects, managed)
    if namespace:
        problems.append(namespace)
    children = check_children(project, app, state.child_apps, state.objects, projects)
    problems += children.values()
    return ProjectVerdict(forbidden=forbidden, children=children, problems=problems)


def check_hooks(
    project: AppProject, app: Application, hooks: Iterable[Hook], namespaced: Scope, managed: ManagedScope | None = None
) -> list[str]:
    """Why `project` (or the cluster's `managed` scope) forbids each of `hooks` (any phase),
    named with its phases."""
    problems = []
    for hook in hooks:
        shown = f"{'/'.join(hook.phases)} hook {hook.describe()}"
        problem = _refusal(project, managed, hook.key, namespaced(hook.obj), destination=app.destination, shown=shown)
        if problem:
            problems.append(problem)
    return problems


def _created_namespace_problem(
    project: AppProject, app: Application, objects: list[dict[str, Any]], managed: ManagedScope | None
) -> str | None:
    """The Namespace a sync writes for `CreateNamespace=true` (unless the app renders it, when it
    was checked as one of its objects)."""
    name = app.destination.namespace
    if not name or not app.sync_policy.option_enabled("CreateNamespace"):
        return None
    key = ResourceKey("", "Namespace", "", name)
    if any(ResourceKey.of(obj) == key for obj in objects):
        return None
    return _refusal(project, managed, key, False, shown=f"Namespace {name} (CreateNamespace=true)")


def _refusal(
    project: AppProject, managed: ManagedScope | None, key: ResourceKey, namespaced: bool,
    destination: Destination | None = None, shown: str = "",
) -> str | None:
    """Why the project, else the destination cluster's managed scope, refuses the object `key`."""
    problem = check_resource(project, key, namespaced, destination=destination, shown=shown)
    if problem or managed is None:
        return problem
    return managed.problem(key, namespaced, shown=shown)
