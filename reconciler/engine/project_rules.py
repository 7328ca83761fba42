"""What an AppProject allows: source repositories, destinations, resource kinds.

The rules follow Argo CD's `AppProject` (pkg/apis/application/v1alpha1,
`IsSourcePermitted`, `isDestinationMatched`, `IsGroupKindPermitted`):

- `sourceRepos` are globs over normalized repository URLs (lower case, no `.git`,
  `git@host:org/repo` read as `host/org/repo`); `*` does not cross `/` except as the
  whole pattern. A `!pattern` that matches the repository denies it outright; as in
  Argo CD, a `!pattern` that does not match counts as a permitting entry.
- `destinations` match when server or name matches and the namespace matches. A
  `!pattern` on a field that does not match the app's value denies the destination.
- A namespaced kind is permitted unless `namespaceResourceWhitelist` is set and lacks
  it, or `namespaceResourceBlacklist` has it. A cluster-scoped kind needs an entry in
  `clusterResourceWhitelist` (empty denies them all; the built-in `default` project
  whitelists `*/*`) and none in `clusterResourceBlacklist`. Group/kind entries are
  Go `filepath.Match` patterns, repositories and destinations Argo CD's globs (core/globs.py).

Deviations from Argo CD, on purpose:
- A `!pattern` on a destination's server or name only applies when the application's
  destination has a value for that field (Argo CD would deny an app that gives only a
  server when a project destination has a `!name` pattern).
- Clusters are resolved by name through the `clusters` mapping (`in-cluster` is known);
  an unknown cluster name is matched by name only, not reported here.
- `namespaceResourceWhitelist: []` is read as "not set" (Argo CD denies every
  namespaced kind for an explicitly empty list).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from reconciler.core.globs import glob_match, kind_match
from reconciler.core.urls import redact_url
from reconciler.model import IN_CLUSTER_SERVER, Application, AppProject, Destination, GroupKind
from reconciler.model.resources import ResourceKey

DEFAULT_CLUSTERS: Mapping[str, str] = {"in-cluster": IN_CLUSTER_SERVER}

_SSH_URL = re.compile(r"^(ssh://)?([^/:]*?)@[^@]+$")


def _allow_or_deny(pattern: str, value: str, separators: str = "") -> bool:
    """Argo CD's globMatch: `!p` is True when `p` does not match; `*` alone matches everything."""
    if pattern.startswith("!"):
        return not glob_match(pattern[1:], value, separators)
    return pattern == "*" or glob_match(pattern, value, separators)


# --------------------------------------------------------------------------------------
# Repositories
# --------------------------------------------------------------------------------------


def normalize_repo_url(url: str) -> str:
    """Argo CD's NormalizeGitURL: lower case, `.git` dropped, scp-style SSH as host/path."""
    url = url.strip().lower()
    if _SSH_URL.match(url) and not url.startswith("ssh://"):
        url = "ssh://" + url.replace(":", "/", 1)
    url = url.removesuffix(".git")
    return url.removeprefix("ssh://")


def source_repo_problem(project: AppProject, repo_url: str) -> str:
    """Why `project` does not let its apps fetch from `repo_url` ("" when it does): the rule for
    an app's own source, for a chart dependency's repository too."""
    return _source_problem(project, repo_url) or ""


def _source_problem(project: AppProject, repo_url: str) -> str | None:
    normalized = normalize_repo_url(repo_url)
    shown = redact_url(repo_url)
    permitted = False
    for index, pattern in enumerate(project.source_repos):
        deny = pattern.startswith("!")
        target = ("!" if deny else "") + normalize_repo_url(pattern.removeprefix("!"))
        if _allow_or_deny(target, normalized, "/"):
            permitted = True
        elif deny:
            return (
                f'repository {shown} is not permitted in project "{project.name}": '
                f'denied by "{pattern}" (spec.sourceRepos[{index}])'
            )
    if permitted:
        return None
    return f'repository {shown} is not permitted in project "{project.name}" (spec.sourceRepos)'


# --------------------------------------------------------------------------------------
# Destinations
# --------------------------------------------------------------------------------------


def _resolve(destination: Destination, clusters: Mapping[str, str]) -> tuple[str, str]:
    """(server, name) of the destination's cluster, each filled from the other when known."""
    server, name = destination.server, destination.name
    if name and not server:
        server = clusters.get(name, "")
    if server and not name:
        name = next((n for n, s in clusters.items() if s.rstrip("/") == server.rstrip("/")), "")
    return server, name


def _destination_problem(project: AppProject, destination: Destination, clusters: Mapping[str, str]) -> str | None:
    server, name = _resolve(destination, clusters)
    namespace = destination.namespace
    matched = False
    for index, item in enumerate(project.destinations):
        name_ok = bool(name) and _allow_or_deny(item.name, name)
        server_ok = bool(server) and _allow_or_deny(item.server, server)
        namespace_ok = _allow_or_deny(item.namespace, namespace)
        if (server_ok or name_ok) and namespace_ok:
            matched = True
            continue
        for key, value, ok in (
            ("server", server, server_ok),
            ("name", name, name_ok),
            ("namespace", namespace, namespace_ok),
        ):
            pattern = getattr(item, key)
            # Deviation (see module doc): a deny on server/name needs a value to deny.
            if pattern.startswith("!") and not ok and (value or key == "namespace"):
                return (
                    f"{_describe_destination(destination)} is not permitted in project "
                    f'"{project.name}": denied by {key} "{pattern}" (spec.destinations[{index}].{key})'
                )
    if matched:
        return _scoped_cluster_problem(project, destination)
    shown = _describe_destination(destination)
    return f'{shown} is not permitted in project "{project.name}" (spec.destinations)'


def _scoped_cluster_problem(project: AppProject, destination: Destination) -> str | None:
    """spec.permitOnlyProjectScopedClusters: a destination the project's list permits must also
    be a cluster whose Secret is scoped to the project (Argo CD compares the Secret's name with
    the destination's name, or its server with the destination's server)."""
    if not project.permit_only_project_scoped_clusters:
        return None
    for name, server in project.scoped_clusters:
        if (destination.name and name == destination.name) or (
            destination.server and server.rstrip("/") == destination.server.rstrip("/")
        ):
            return None
    return (
        f'{_describe_destination(destination)} is not permitted in project "{project.name}": it allows only '
        f"clusters scoped to it (spec.permitOnlyProjectScopedClusters), and no cluster Secret with "
        f'`project: {project.name}` is that cluster; add the field to its Secret or turn the setting off'
    )


def _describe_destination(destination: Destination) -> str:
    cluster = f"server {destination.server}" if destination.server else f"cluster {destination.name}"
    namespace = f'namespace "{destination.namespace}"' if destination.namespace else "no namespace"
    return f"destination {cluster}, {namespace}"


# --------------------------------------------------------------------------------------
# Public checks
# --------------------------------------------------------------------------------------


def check_application(
    project: AppProject, app: Application, clusters: Mapping[str, str] = DEFAULT_CLUSTERS
) -> list[str]:
    """Every way `app` breaks the rules of `project`; empty when it may be synced.

    `clusters` maps cluster names to server URLs, so a destination given by name is
    checked against server patterns too (and the other way round).
    """
    problems = []
    if app.project != project.name:
        problems.append(f'application "{app.name}" belongs to project "{app.project}", not "{project.name}"')
    for source in app.all_sources:
        found = _source_problem(project, source.repo_url)
        if found and found not in problems:
            problems.append(found)
    destination = _destination_problem(project, app.destination, clusters)
    if destination:
        problems.append(destination)
    return problems


def _listed(kind_list: tuple[GroupKind, ...], group: str, kind: str) -> int | None:
    """Index of the first entry matching group/kind, or None."""
    for index, entry in enumerate(kind_list):
        if kind_match(entry.kind, kind) and kind_match(entry.group, group):
            return index
    return None


def check_destination(
    project: AppProject, destination: Destination, clusters: Mapping[str, str] = DEFAULT_CLUSTERS
) -> str | None:
    """Why `project` does not permit `destination` (spec.destinations), or None when it does."""
    return _destination_problem(project, destination, clusters)


def check_resource(
    project: AppProject,
    key: ResourceKey,
    namespaced: bool,
    destination: Destination | None = None,
    clusters: Mapping[str, str] = DEFAULT_CLUSTERS,
    shown: str = "",
) -> str | None:
    """Why `project` does not permit the object `key`, or None when it does. The message starts
    with `shown` (how to name the object, e.g. a hook with its phase), else the key.

    With `destination` (the app's), a namespaced object's own namespace must also be a
    permitted destination on that cluster, as in Argo CD's IsResourcePermitted.
    """
    shown = shown or str(key)
    group_kind = f"{key.group}/{key.kind}" if key.group else key.kind
    scope = "namespaced" if namespaced else "cluster-scoped"
    prefix = f'{shown}: {scope} kind {group_kind} is not permitted in project "{project.name}"'
    if namespaced:
        whitelist, blacklist = "namespaceResourceWhitelist", "namespaceResourceBlacklist"
        allowed = project.namespace_resource_whitelist
        denied = project.namespace_resource_blacklist
        if allowed and _listed(allowed, key.group, key.kind) is None:
            return f"{prefix} (not in spec.{whitelist})"
    else:
        whitelist, blacklist = "clusterResourceWhitelist", "clusterResourceBlacklist"
        denied = project.cluster_resource_blacklist
        if _listed(project.cluster_resource_whitelist, key.group, key.kind) is None:
            return f"{prefix} (not in spec.{whitelist})"
    index = _listed(denied, key.group, key.kind)
    if index is not None:
        return f"{prefix} (listed in spec.{blacklist}[{index}])"
    if namespaced and destination is not None and key.namespace:
        in_namespace = Destination(server=destination.server, name=destination.name, namespace=key.namespace)
        problem = _destination_problem(project, in_namespace, clusters)
        if problem:
            return f"{shown}: {problem}"
    return None


def project_management_problem(project: AppProject) -> str | None:
    """Why apps of `project` may not register AppProjects, or None when they may: its
    spec.clusterResourceWhitelist names group `argoproj.io` and kind `AppProject` exactly (a
    glob such as `*/*` does not count: managing projects is an admin's power, given on purpose)
    and its clusterResourceBlacklist does not list it."""
    explicit = any(e.group == "argoproj.io" and e.kind == "AppProject" for e in project.cluster_resource_whitelist)
    if not explicit:
        return (
            f'project "{project.name}" does not permit managing projects: list '
            "{group: argoproj.io, kind: AppProject} in its spec.clusterResourceWhitelist "
            "(a wildcard such as */* does not count)"
        )
    index = _listed(project.cluster_resource_blacklist, "argoproj.io", "AppProject")
    if index is not None:
        return (
            f'project "{project.name}" does not permit managing projects '
            f"(listed in spec.clusterResourceBlacklist[{index}])"
        )
    return None
