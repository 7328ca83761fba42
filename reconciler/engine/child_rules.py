"""App-of-apps under the parent's AppProject: what a parent may register or render.

    check_children(project, app, children, objects, projects) -> {(kind, name): why refused}

Argo CD applies a parent's child `Application` objects like any other resource of the parent,
so its project's kind and namespace rules cover them; which project the child may then use is
decided by the child's project (`sourceNamespaces`, with Applications in any namespace), and
Argo CD warns that a parent that may write Applications into its own namespace is an admin.
Here children are registered, not applied, and apps have no namespace of their own, so the
same two-sided consent is spelled out by name:

- A child `Application` is a namespaced `argoproj.io/Application` of the parent: the parent's
  project must permit that kind and the child's `metadata.namespace` (the parent's destination
  namespace when it has none) on the parent's cluster, and the child's `spec.destination` too:
  a parent cannot deploy through a child where it could not deploy itself.
- Its `spec.project` is the parent's, or another project that consents by name: that project
  lists the parent's project in its annotation `reconciler.io/parent-projects` (comma-separated
  names, no globs). The built-in `default` project carries none, so no parent of another
  project can put children in it.
- A rendered `AppProject` is refused unless the parent's project names `argoproj.io/AppProject`
  exactly in its clusterResourceWhitelist (`*/*` does not count: managing projects is an
  admin's power, given on purpose), and never when it is the parent's own project: an app
  never rewrites the rules it is checked against.
- A rendered `ApplicationSet` is a resource (its kind is checked with the app's objects); the
  project and destination of its template follow the child rules; a templated project or
  destination, which cannot be checked before it is generated, is refused.

An app never registers itself. Who registered an existing app or project (an admin, another
parent) is checked when the parent registers its children (control/children.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from reconciler.engine.project_rules import check_destination, check_resource, project_management_problem
from reconciler.model import (
    DEFAULT_PROJECT,
    Application,
    AppProject,
    Destination,
    SpecError,
    default_project,
    parse_application,
    parse_project,
)
from reconciler.model.appset_types import ApplicationSet
from reconciler.model.parse_appset import parse_appset
from reconciler.model.resources import ResourceKey, split_api_version

ARGO_GROUP = "argoproj.io"
PARENT_PROJECTS_ANNOTATION = "reconciler.io/parent-projects"

# A project by name as the system knows it (None: it does not exist or is invalid).
ProjectLookup = Callable[[str], AppProject | None]


def no_projects(name: str) -> AppProject | None:
    """The lookup where no registry is at hand (`reconciler diff -f`): only the built-in default."""
    return default_project() if name == DEFAULT_PROJECT else None


def check_children(
    project: AppProject,
    app: Application,
    children: Iterable[dict[str, Any]],
    objects: Iterable[dict[str, Any]],
    projects: ProjectLookup,
) -> dict[tuple[str, str], str]:
    """Why each child Application/AppProject (and ApplicationSet among `objects`) that `app`
    renders is refused by `project`, keyed by (kind, name). Invalid manifests are left to the
    parser's report (control/children.py)."""
    apps: list[Application] = []
    rendered_projects: list[AppProject] = []
    sets = [obj for obj in objects if _is_application_set(obj)]
    for manifest in children:
        try:
            doc = parse_child(app.name, manifest)
        except SpecError:
            continue
        if isinstance(doc, AppProject):
            rendered_projects.append(doc)
        elif isinstance(doc, ApplicationSet):
            sets.append(manifest)
        else:
            apps.append(doc)
    refused: dict[tuple[str, str], str] = {}
    usable: dict[str, AppProject] = {}
    for child_project in rendered_projects:
        problem = _project_problem(project, app, child_project)
        if problem:
            refused[("AppProject", child_project.name)] = problem
        else:
            usable[child_project.name] = child_project

    def lookup(name: str) -> AppProject | None:
        # A project this render registers along with its apps counts as it will be.
        return usable.get(name) or projects(name)

    for child in apps:
        problem = _application_problem(project, app, child, lookup)
        if problem:
            refused[("Application", child.name)] = problem
    for obj in sets:
        problem = _application_set_problem(project, app, obj, lookup)
        if problem:
            refused[("ApplicationSet", str((obj.get("metadata") or {}).get("name", "")))] = problem
    return refused


def parse_child(parent: str, manifest: dict[str, Any]) -> Application | AppProject | ApplicationSet:
    """A child Application, ApplicationSet or AppProject rendered by `parent`; SpecError naming
    what is wrong."""
    where = f"{manifest.get('kind', 'Application')} rendered by application {parent}"
    if manifest.get("kind") == "AppProject":
        return parse_project(manifest, source_file=where)
    if manifest.get("kind") == "ApplicationSet":
        return parse_appset(manifest, source_file=where)
    return parse_application(manifest, source_file=where)


def _application_problem(project: AppProject, app: Application, child: Application, projects: ProjectLookup) -> str:
    shown = f'child application "{child.name}"'
    if child.name == app.name:
        return f"{shown}: application {app.name!r} renders an Application of its own name; an app never " \
            "registers itself"
    written = str((child.manifest.get("metadata") or {}).get("namespace") or "") or app.destination.namespace
    key = ResourceKey(ARGO_GROUP, "Application", written, child.name)
    problems = [
        check_resource(project, key, namespaced=True, destination=app.destination, shown=shown),
        _destination_problem(project, shown, child.destination),
        _child_project_problem(project, shown, child.project or DEFAULT_PROJECT, projects),
    ]
    return "; ".join(p for p in problems if p)


def _destination_problem(project: AppProject, shown: str, destination: Destination) -> str | None:
    problem = check_destination(project, destination)
    if not problem:
        return None
    return f"{shown}: spec.destination: {problem} (a parent cannot deploy through a child where it could not itself)"


def _child_project_problem(project: AppProject, shown: str, wanted: str, projects: ProjectLookup) -> str | None:
    if wanted == project.name:
        return None
    target = projects(wanted)
    if target is None:
        return f'{shown}: spec.project "{wanted}" does not exist (or is invalid); register it first'
    if project.name in parent_projects(target):
        return None
    return (
        f'{shown}: spec.project is "{wanted}", not its parent\'s project "{project.name}": a parent registers '
        f'children only in its own project, unless project "{wanted}" lists "{project.name}" in its '
        f"annotation {PARENT_PROJECTS_ANNOTATION}"
    )


def parent_projects(project: AppProject) -> set[str]:
    """The projects whose apps may register children in `project` (its consent, by name)."""
    annotations = (project.manifest.get("metadata") or {}).get("annotations") or {}
    raw = str(annotations.get(PARENT_PROJECTS_ANNOTATION) or "")
    return {name.strip() for name in raw.split(",") if name.strip()}


def _project_problem(project: AppProject, app: Application, child: AppProject) -> str:
    shown = f'AppProject "{child.name}" rendered by application {app.name!r}'
    if child.name == project.name:
        return f"{shown}: it is the app's own project; an app never changes the project it is checked against"
    problem = project_management_problem(project)
    return f"{shown}: {problem}" if problem else ""


def _is_application_set(obj: dict[str, Any]) -> bool:
    group, _ = split_api_version(str(obj.get("apiVersion", "")))
    return group == ARGO_GROUP and obj.get("kind") == "ApplicationSet"


def _application_set_problem(
    project: AppProject, app: Application, obj: dict[str, Any], projects: ProjectLookup
) -> str:
    name = str((obj.get("metadata") or {}).get("name", ""))
    shown = f'ApplicationSet "{name}" rendered by application {app.name!r}'
    spec = _mapping(obj.get("spec"))
    if spec.get("templatePatch"):
        return f"{shown}: spec.templatePatch can set any project and destination; a child ApplicationSet cannot use it"
    base = _mapping(_mapping(spec.get("template")).get("spec"))
    problems = _template_problems(project, shown, "spec.template.spec", base, projects)
    # A generator's own template overrides the set's field by field (Argo CD merges it over
    # spec.template): each one is a template the set renders Applications from.
    for index, generator in enumerate(spec.get("generators") or []):
        for kind, body in _mapping(generator).items():
            own = _mapping(_mapping(_mapping(body).get("template")).get("spec"))
            if own:
                where = f"spec.generators[{index}].{kind}.template.spec"
                problems += _template_problems(project, f"{shown} ({where})", where, _merged(own, base), projects)
    return "; ".join(dict.fromkeys(p for p in problems if p))


def _template_problems(
    project: AppProject, shown: str, where: str, template: dict[str, Any], projects: ProjectLookup
) -> list[str | None]:
    """Why `project` refuses Applications rendered from `template` (the Application spec at `where`)."""
    wanted = template.get("project") or DEFAULT_PROJECT
    if not isinstance(wanted, str) or "{{" in wanted:
        return [f"{shown}: {where}.project is templated; give the project by name"]
    problems = [_child_project_problem(project, shown, wanted, projects)]
    destination = _mapping(template.get("destination"))
    fields = [destination.get(k) or "" for k in ("server", "name", "namespace")]
    if not all(isinstance(v, str) for v in fields) or any("{{" in v for v in fields):
        problems.append(f"{shown}: {where}.destination is templated; give it literally")
    else:
        literal = Destination(server=fields[0], name=fields[1], namespace=fields[2])
        problems.append(_destination_problem(project, shown, literal))
    return problems


def _merged(own: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """The project and destination of a generator's template over the set's: an empty field
    of `own` is filled from `base` (mergo.Merge without override, as Argo CD merges them)."""
    destination = {**_mapping(base.get("destination")),
                   **{k: v for k, v in _mapping(own.get("destination")).items() if v}}
    return {"project": own.get("project") or base.get("project"), "destination": destination}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
