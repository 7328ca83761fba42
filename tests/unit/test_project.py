"""AppProject rules, as Argo CD's AppProject applies them
(pkg/apis/application/v1alpha1/app_project_types.go: IsSourcePermitted,
isDestinationMatched, IsGroupKindPermitted; docs/user-guide/projects.md)."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.core.globs import glob_match
from reconciler.engine.project_rules import check_application, check_resource, normalize_repo_url
from reconciler.model import (
    Application,
    AppProject,
    Destination,
    GroupKind,
    ProjectDestination,
    default_project,
    parse_application,
)
from reconciler.model.resources import ResourceKey

IN_CLUSTER = "https://kubernetes.default.svc"
REPO = "https://github.com/your-org/k8s-config"


def _app(
    repo: str = REPO,
    server: str = IN_CLUSTER,
    name: str = "",
    namespace: str = "team-a-web",
    project: str = "team-a",
) -> Application:
    destination = {"name": name} if name else {"server": server}
    return parse_application(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web"},
            "spec": {
                "project": project,
                "source": {"repoURL": repo, "path": "apps/web"},
                "destination": {**destination, "namespace": namespace},
            },
        }
    )


def _project(
    repos: tuple[str, ...] = (REPO,),
    destinations: tuple[ProjectDestination, ...] = (ProjectDestination(server=IN_CLUSTER, namespace="team-a-*"),),
    **lists: tuple[GroupKind, ...],
) -> AppProject:
    return AppProject(name="team-a", namespace="argocd", source_repos=repos, destinations=destinations, **lists)


# --- sourceRepos ------------------------------------------------------------------------


def test_listed_repository_is_permitted() -> None:
    assert check_application(_project(), _app()) == []


def test_unlisted_repository_is_refused_naming_the_rule() -> None:
    problems = check_application(_project(), _app(repo="https://github.com/other/repo"))
    assert problems == [
        'repository https://github.com/other/repo is not permitted in project "team-a" (spec.sourceRepos)'
    ]


def test_repository_glob_permits_repositories_of_the_organisation() -> None:
    project = _project(repos=("https://github.com/your-org/*",))
    assert check_application(project, _app(repo="https://github.com/your-org/anything")) == []


def test_repository_glob_star_does_not_cross_a_slash() -> None:
    project = _project(repos=("https://github.com/your-org/*",))
    assert check_application(project, _app(repo="https://github.com/your-org/group/sub"))


def test_lone_star_permits_every_repository() -> None:
    project = _project(repos=("*",))
    assert check_application(project, _app(repo="git@gitlab.example.com:deep/group/repo.git")) == []


def test_negated_repository_pattern_refuses_a_match_even_after_a_star() -> None:
    project = _project(repos=("*", "!https://github.com/your-org/secrets"))
    [problem] = check_application(project, _app(repo="https://github.com/your-org/secrets"))
    assert 'denied by "!https://github.com/your-org/secrets" (spec.sourceRepos[1])' in problem


def test_negated_repository_pattern_alone_permits_other_repositories_as_in_argo_cd() -> None:
    project = _project(repos=("!https://github.com/your-org/secrets",))
    assert check_application(project, _app(repo="https://github.com/your-org/web")) == []


def test_repository_match_ignores_case_and_git_suffix() -> None:
    project = _project(repos=("https://GitHub.com/your-org/k8s-config.git",))
    assert check_application(project, _app(repo="https://github.com/Your-Org/k8s-config")) == []


def test_scp_style_ssh_repository_matches_its_pattern() -> None:
    project = _project(repos=("git@github.com:your-org/*",))
    assert check_application(project, _app(repo="git@github.com:your-org/k8s-config.git")) == []


def test_normalize_repo_url_reads_scp_style_ssh_as_host_and_path() -> None:
    assert normalize_repo_url("git@GitHub.com:Org/Repo.git") == "git@github.com/org/repo"


def test_refused_repository_message_hides_credentials() -> None:
    # The parser refuses credentials in a repoURL; an app built before that rule still must not
    # have them echoed by the project check.
    app = _app(repo="https://github.com/other/repo")
    app = dataclasses.replace(app, source=dataclasses.replace(app.source, repo_url="https://ci:hunter2@github.com/other/repo"))
    [problem] = check_application(_project(), app)
    assert "hunter2" not in problem
    assert "repository https://github.com/other/repo is not permitted" in problem


# --- destinations -----------------------------------------------------------------------


def test_destination_matching_server_and_namespace_glob_is_permitted() -> None:
    assert check_application(_project(), _app(namespace="team-a-api")) == []


def test_destination_namespace_outside_the_glob_is_refused() -> None:
    [problem] = check_application(_project(), _app(namespace="kube-system"))
    assert problem == (
        f'destination server {IN_CLUSTER}, namespace "kube-system" is not permitted in project "team-a" '
        "(spec.destinations)"
    )


def test_destination_on_another_server_is_refused() -> None:
    assert check_application(_project(), _app(server="https://prod.example.com:6443"))


def test_destination_given_by_name_matches_a_name_rule() -> None:
    project = _project(destinations=(ProjectDestination(name="staging", namespace="*"),))
    assert check_application(project, _app(name="staging", namespace="web")) == []


def test_in_cluster_name_matches_a_server_rule() -> None:
    assert check_application(_project(), _app(name="in-cluster", namespace="team-a-web")) == []


def test_in_cluster_server_matches_a_name_rule() -> None:
    project = _project(destinations=(ProjectDestination(name="in-cluster", namespace="*"),))
    assert check_application(project, _app(server=IN_CLUSTER, namespace="web")) == []


def test_unknown_cluster_name_does_not_match_a_server_rule() -> None:
    assert check_application(_project(), _app(name="staging", namespace="team-a-web"))


def test_negated_namespace_refuses_that_namespace_naming_the_rule() -> None:
    project = _project(
        destinations=(
            ProjectDestination(server="*", namespace="*"),
            ProjectDestination(server="*", namespace="!kube-system"),
        )
    )
    [problem] = check_application(project, _app(namespace="kube-system"))
    assert 'denied by namespace "!kube-system" (spec.destinations[1].namespace)' in problem


def test_negated_namespace_leaves_other_namespaces_permitted() -> None:
    project = _project(
        destinations=(
            ProjectDestination(server="*", namespace="*"),
            ProjectDestination(server="*", namespace="!kube-system"),
        )
    )
    assert check_application(project, _app(namespace="web")) == []


def test_negated_server_refuses_that_server() -> None:
    project = _project(
        destinations=(
            ProjectDestination(server="*", namespace="*"),
            ProjectDestination(server="!https://prod.example.com", namespace="*"),
        )
    )
    [problem] = check_application(project, _app(server="https://prod.example.com", namespace="web"))
    assert "(spec.destinations[1].server)" in problem


def test_application_of_another_project_is_refused() -> None:
    problems = check_application(_project(), _app(project="team-b"))
    assert problems == ['application "web" belongs to project "team-b", not "team-a"']


def test_every_broken_rule_is_reported() -> None:
    problems = check_application(_project(), _app(repo="https://github.com/x/y", namespace="kube-system"))
    assert [p.split(" ")[0] for p in problems] == ["repository", "destination"]


# --- the default project ----------------------------------------------------------------


def test_default_project_permits_any_repository_and_destination() -> None:
    app = _app(repo="git@gitlab.example.com:a/b/c.git", server="https://x.example.com", project="default")
    assert check_application(default_project(), app) == []


def test_default_project_permits_a_destination_given_by_any_name() -> None:
    app = _app(name="edge-cluster-7", namespace="anything", project="default")
    assert check_application(default_project(), app) == []


def test_default_project_permits_cluster_scoped_kinds() -> None:
    key = ResourceKey("rbac.authorization.k8s.io", "ClusterRole", "", "admin")
    assert check_resource(default_project(), key, namespaced=False) is None


# --- resource kinds ---------------------------------------------------------------------


CLUSTER_ROLE = ResourceKey("rbac.authorization.k8s.io", "ClusterRole", "", "reader")
NAMESPACE = ResourceKey("", "Namespace", "", "team-a-web")
DEPLOYMENT = ResourceKey("apps", "Deployment", "team-a-web", "web")
QUOTA = ResourceKey("", "ResourceQuota", "team-a-web", "limits")


def test_cluster_scoped_kind_is_refused_when_the_whitelist_is_empty() -> None:
    problem = check_resource(_project(), NAMESPACE, namespaced=False)
    assert problem == (
        'Namespace team-a-web: cluster-scoped kind Namespace is not permitted in project "team-a" '
        "(not in spec.clusterResourceWhitelist)"
    )


def test_cluster_scoped_kind_in_the_whitelist_is_permitted() -> None:
    project = _project(cluster_resource_whitelist=(GroupKind("", "Namespace"),))
    assert check_resource(project, NAMESPACE, namespaced=False) is None


def test_cluster_whitelist_group_glob_permits_every_kind_of_the_group() -> None:
    project = _project(cluster_resource_whitelist=(GroupKind("rbac.authorization.k8s.io", "*"),))
    assert check_resource(project, CLUSTER_ROLE, namespaced=False) is None


def test_cluster_blacklist_refuses_a_whitelisted_kind_naming_the_entry() -> None:
    project = _project(
        cluster_resource_whitelist=(GroupKind("*", "*"),),
        cluster_resource_blacklist=(GroupKind("", "Namespace"), GroupKind("rbac.authorization.k8s.io", "Cluster*")),
    )
    problem = check_resource(project, CLUSTER_ROLE, namespaced=False)
    assert problem is not None
    assert problem.endswith("(listed in spec.clusterResourceBlacklist[1])")


def test_namespaced_kind_is_permitted_when_no_namespace_whitelist_is_set() -> None:
    assert check_resource(_project(), QUOTA, namespaced=True) is None


def test_namespaced_kind_missing_from_the_namespace_whitelist_is_refused() -> None:
    project = _project(namespace_resource_whitelist=(GroupKind("apps", "Deployment"),))
    assert check_resource(project, DEPLOYMENT, namespaced=True) is None
    problem = check_resource(project, QUOTA, namespaced=True)
    assert problem is not None
    assert problem.endswith("(not in spec.namespaceResourceWhitelist)")


def test_namespaced_kind_in_the_namespace_blacklist_is_refused() -> None:
    project = _project(namespace_resource_blacklist=(GroupKind("", "ResourceQuota"),))
    problem = check_resource(project, QUOTA, namespaced=True)
    assert problem is not None
    assert problem.endswith("(listed in spec.namespaceResourceBlacklist[0])")


def test_core_group_entry_does_not_match_a_named_group() -> None:
    project = _project(namespace_resource_blacklist=(GroupKind("", "Deployment"),))
    assert check_resource(project, DEPLOYMENT, namespaced=True) is None


def test_namespaced_object_outside_permitted_namespaces_is_refused() -> None:
    stray = ResourceKey("apps", "Deployment", "kube-system", "web")
    destination = Destination(server=IN_CLUSTER, namespace="team-a-web")
    problem = check_resource(_project(), stray, namespaced=True, destination=destination)
    assert problem is not None
    assert 'namespace "kube-system" is not permitted' in problem


def test_namespaced_object_in_a_permitted_namespace_is_permitted() -> None:
    destination = Destination(server=IN_CLUSTER, namespace="team-a-web")
    assert check_resource(_project(), DEPLOYMENT, namespaced=True, destination=destination) is None


# --- globs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("team-?", "team-a", True),
        ("team-?", "team-ab", False),
        ("team-[ab]", "team-b", True),
        ("team-[!ab]", "team-b", False),
        ("{dev,staging}-*", "staging-web", True),
        ("{dev,staging}-*", "prod-web", False),
        ("a\\*", "a*", True),
        ("a\\*", "ab", False),
        ("[unclosed", "[unclosed", False),
    ],
)
def test_glob_match(pattern: str, value: str, expected: bool) -> None:
    assert glob_match(pattern, value) is expected


def test_glob_double_star_crosses_separators() -> None:
    assert glob_match("https://github.com/org/**", "https://github.com/org/a/b", "/")
    assert not glob_match("https://github.com/org/*", "https://github.com/org/a/b", "/")


# --- permitOnlyProjectScopedClusters ------------------------------------------------------


def test_a_project_limited_to_its_scoped_clusters_refuses_a_cluster_not_scoped_to_it() -> None:
    """Argo CD's AppProject.IsDestinationPermitted: the destination must also be a cluster whose
    Secret names the project."""
    limited = dataclasses.replace(_project(), permit_only_project_scoped_clusters=True)
    [problem] = check_application(limited, _app())
    assert "allows only clusters scoped to it (spec.permitOnlyProjectScopedClusters)" in problem
    assert "`project: team-a`" in problem
    scoped = dataclasses.replace(limited, scoped_clusters=(("in-cluster", IN_CLUSTER),))
    assert check_application(scoped, _app()) == []
    by_name = dataclasses.replace(limited, scoped_clusters=(("prod", "https://prod.example.com"),),
                                  destinations=(ProjectDestination(name="prod", namespace="*"),))
    assert check_application(by_name, _app(name="prod")) == []


def test_a_scoped_cluster_does_not_widen_the_projects_destinations() -> None:
    limited = dataclasses.replace(_project(), permit_only_project_scoped_clusters=True,
                                  scoped_clusters=(("in-cluster", IN_CLUSTER),))
    [problem] = check_application(limited, _app(namespace="elsewhere"))
    assert "(spec.destinations)" in problem


def test_the_setting_is_read_from_the_manifest() -> None:
    from reconciler.model import SpecError, parse_project

    manifest = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": "team-a"},
                "spec": {"permitOnlyProjectScopedClusters": True}}
    assert parse_project(manifest).permit_only_project_scoped_clusters
    manifest["spec"]["permitOnlyProjectScopedClusters"] = "yes"
    with pytest.raises(SpecError, match=r"spec\.permitOnlyProjectScopedClusters"):
        parse_project(manifest)
