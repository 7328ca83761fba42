"""What an app of apps may render, under its parent's AppProject (engine/child_rules.py): the
rules the security tests (tests/security/test_git_writer_of_one_project.py) drive end to end,
here case by case as pure functions."""

from __future__ import annotations

from typing import Any

from reconciler.engine.child_rules import PARENT_PROJECTS_ANNOTATION, check_children, no_projects
from reconciler.engine.compare import DesiredState
from reconciler.engine.hooks import split_hooks
from reconciler.engine.project_check import check_render
from reconciler.model import AppProject, parse_application, parse_project

IN_CLUSTER = "https://kubernetes.default.svc"


def tight(*, kinds: list[dict[str, str]] | None = None, cluster: list[dict[str, str]] | None = None,
          annotations: dict[str, str] | None = None, name: str = "tight") -> AppProject:
    return parse_project({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": IN_CLUSTER, "namespace": ns} for ns in ("team-a", "argocd")],
            "namespaceResourceWhitelist": kinds or [],
            "clusterResourceWhitelist": cluster or [],
        },
    })


def app_doc(name: str, project: str = "tight", namespace: str = "team-a", meta_ns: str | None = "argocd",
            options: list[str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if meta_ns is not None:
        metadata["namespace"] = meta_ns
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": metadata,
        "spec": {"project": project, "source": {"repoURL": "https://example.com/r.git", "path": "."},
                 "destination": {"server": IN_CLUSTER, "namespace": namespace},
                 "syncPolicy": {"syncOptions": options or []}},
    }


PARENT = parse_application(app_doc("root"))


def refused(project: AppProject, *children: dict[str, Any], objects: list[dict[str, Any]] | None = None,
            projects: Any = no_projects) -> dict[tuple[str, str], str]:
    return check_children(project, PARENT, list(children), objects or [], projects)


def test_a_child_in_the_parents_project_and_destinations_is_permitted() -> None:
    assert refused(tight(), app_doc("web")) == {}


def test_a_child_without_a_namespace_is_written_to_the_parents_destination_namespace() -> None:
    assert refused(tight(), app_doc("web", meta_ns=None)) == {}


def test_a_child_written_to_a_namespace_the_parents_project_does_not_permit_is_refused() -> None:
    problem = refused(tight(), app_doc("web", meta_ns="kube-system"))[("Application", "web")]
    assert problem.startswith('child application "web": destination server')
    assert '"kube-system" is not permitted in project "tight"' in problem


def test_a_child_needs_the_application_kind_when_the_parents_project_lists_namespaced_kinds() -> None:
    configmaps_only = tight(kinds=[{"group": "", "kind": "ConfigMap"}])
    problem = refused(configmaps_only, app_doc("web"))[("Application", "web")]
    assert 'namespaced kind argoproj.io/Application is not permitted in project "tight"' in problem
    with_apps = tight(kinds=[{"group": "", "kind": "ConfigMap"}, {"group": "argoproj.io", "kind": "Application"}])
    assert refused(with_apps, app_doc("web")) == {}


def test_a_child_deploying_where_the_parent_may_not_is_refused() -> None:
    problem = refused(tight(), app_doc("web", namespace="kube-system"))[("Application", "web")]
    assert 'child application "web": spec.destination: destination server' in problem


def test_a_child_in_the_default_project_of_a_parent_in_another_is_refused() -> None:
    problem = refused(tight(), app_doc("web", project="default"))[("Application", "web")]
    assert f'unless project "default" lists "tight" in its annotation {PARENT_PROJECTS_ANNOTATION}' in problem


def test_a_child_in_a_project_naming_the_parents_project_is_permitted() -> None:
    consenting = tight(name="team-a", annotations={PARENT_PROJECTS_ANNOTATION: "platform, tight"})
    assert refused(tight(), app_doc("web", project="team-a"), projects=lambda n: consenting) == {}
    silent = tight(name="team-a", annotations={PARENT_PROJECTS_ANNOTATION: "tight-*"})
    assert ("Application", "web") in refused(tight(), app_doc("web", project="team-a"), projects=lambda n: silent)


def test_a_child_in_a_project_that_does_not_exist_is_refused() -> None:
    problem = refused(tight(), app_doc("web", project="nowhere"))[("Application", "web")]
    assert 'spec.project "nowhere" does not exist' in problem


def test_an_app_never_registers_itself() -> None:
    problem = refused(tight(), app_doc("root"))[("Application", "root")]
    assert "an app never registers itself" in problem


def project_doc(name: str) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": name},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
                     "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}}


def test_a_rendered_project_needs_app_project_named_exactly_in_the_cluster_whitelist() -> None:
    wildcard = tight(cluster=[{"group": "*", "kind": "*"}])
    assert "a wildcard such as */* does not count" in refused(wildcard, project_doc("team-x"))[("AppProject", "team-x")]
    group_glob = tight(cluster=[{"group": "argoproj.io", "kind": "*"}])
    assert ("AppProject", "team-x") in refused(group_glob, project_doc("team-x"))
    explicit = tight(cluster=[{"group": "argoproj.io", "kind": "AppProject"}])
    assert refused(explicit, project_doc("team-x")) == {}


def test_a_blacklisted_app_project_kind_is_refused_even_when_whitelisted() -> None:
    project = parse_project({**project_doc("tight"), "spec": {
        "sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
        "clusterResourceWhitelist": [{"group": "argoproj.io", "kind": "AppProject"}],
        "clusterResourceBlacklist": [{"group": "argoproj.io", "kind": "*"}]}})
    assert "clusterResourceBlacklist[0]" in refused(project, project_doc("team-x"))[("AppProject", "team-x")]


def test_an_app_never_rewrites_its_own_project_even_when_it_may_manage_projects() -> None:
    explicit = tight(cluster=[{"group": "argoproj.io", "kind": "AppProject"}])
    problem = refused(explicit, project_doc("tight"))[("AppProject", "tight")]
    assert "it is the app's own project" in problem


def test_a_project_the_same_render_registers_counts_for_its_children() -> None:
    explicit = tight(cluster=[{"group": "argoproj.io", "kind": "AppProject"}])
    consent = {"name": "team-x", "annotations": {PARENT_PROJECTS_ANNOTATION: "tight"}}
    team = {**project_doc("team-x"), "metadata": consent}
    assert refused(explicit, team, app_doc("web", project="team-x")) == {}
    # Refused itself, the project lends its consent to nobody.
    assert ("Application", "web") in refused(tight(), team, app_doc("web", project="team-x"))


def application_set(project: str, namespace: str = "team-a", patch: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "generators": [{"list": {"elements": [{"name": "a"}]}}],
        "template": {"metadata": {"name": "{{name}}"},
                     "spec": {"project": project, "source": {"repoURL": "https://example.com/r.git", "path": "."},
                              "destination": {"server": IN_CLUSTER, "namespace": namespace}}},
    }
    if patch:
        spec["templatePatch"] = patch
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": {"name": "set"}, "spec": spec}


def test_an_application_set_follows_the_child_rules_and_refuses_what_it_cannot_check() -> None:
    assert refused(tight(), objects=[application_set("tight")]) == {}
    key = ("ApplicationSet", "set")
    assert "spec.project is \"default\"" in refused(tight(), objects=[application_set("default")])[key]
    assert "spec.template.spec.project is templated" in refused(tight(), objects=[application_set("{{p}}")])[key]
    assert "destination is templated" in refused(tight(), objects=[application_set("tight", "{{ns}}")])[key]
    assert "kube-system" in refused(tight(), objects=[application_set("tight", "kube-system")])[key]
    assert "templatePatch" in refused(tight(), objects=[application_set("tight", patch="spec: {project: x}")])[key]


def render(project: AppProject, app: dict[str, Any], *objects: dict[str, Any]) -> list[str]:
    resources, hooks = split_hooks(list(objects))
    state = DesiredState(revision="r", objects=resources, hooks=hooks)
    return check_render(project, parse_application(app), state, lambda o: o["kind"] != "ClusterRole", no_projects
                        ).problems


def hook(kind: str, phase: str, namespace: str = "team-a") -> dict[str, Any]:
    """A generateName hook (a ClusterRole has no namespace: the render drops it)."""
    metadata = {"generateName": "x-", "annotations": {"argocd.argoproj.io/hook": phase}}
    if kind != "ClusterRole":
        metadata["namespace"] = namespace
    api_version = "rbac.authorization.k8s.io/v1" if kind == "ClusterRole" else "v1"
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


def test_hooks_of_every_phase_pass_the_project_named_with_their_phase() -> None:
    project = tight(kinds=[{"group": "", "kind": "ConfigMap"}])
    for phase in ("PreSync", "Sync", "PostSync", "SyncFail", "PreDelete", "PostDelete"):
        problems = render(project, app_doc("web"), hook("ClusterRole", phase))
        assert problems and problems[0].startswith(f"{phase} hook ClusterRole x-<generated>: cluster-scoped kind")
    assert render(project, app_doc("web"), hook("ConfigMap", "PreSync")) == []
    assert render(project, app_doc("web"), hook("Secret", "PreSync"))[0].endswith(
        "(not in spec.namespaceResourceWhitelist)")
    assert "kube-system" in render(project, app_doc("web"), hook("ConfigMap", "PreSync", "kube-system"))[0]


def test_a_skip_hook_is_never_applied_so_it_is_not_checked() -> None:
    assert render(tight(), app_doc("web"), hook("ClusterRole", "Skip")) == []


def test_the_namespace_of_create_namespace_is_checked_unless_the_app_renders_it() -> None:
    app = app_doc("web", options=["CreateNamespace=true"])
    assert render(tight(), app)[0].startswith("Namespace team-a (CreateNamespace=true): cluster-scoped kind Namespace")
    assert render(tight(cluster=[{"group": "", "kind": "Namespace"}]), app) == []
    assert render(tight(), app_doc("web")) == []


def test_a_generators_own_template_cannot_move_an_application_set_out_of_its_parents_project() -> None:
    # Argo CD merges a generator's `template` over spec.template: its project and destination win.
    key = ("ApplicationSet", "set")
    escaping = application_set("tight")
    escaping["spec"]["generators"][0]["list"]["template"] = {"spec": {"project": "default"}}
    assert 'spec.generators[0].list.template.spec): spec.project is "default"' in refused(
        tight(), objects=[escaping])[key]
    sideways = application_set("tight")
    sideways["spec"]["generators"][0]["list"]["template"] = {"spec": {"destination": {"namespace": "kube-system"}}}
    assert '"kube-system" is not permitted in project "tight"' in refused(tight(), objects=[sideways])[key]
    templated = application_set("tight")
    templated["spec"]["generators"][0]["list"]["template"] = {"spec": {"project": "{{p}}"}}
    assert "spec.generators[0].list.template.spec.project is templated" in refused(
        tight(), objects=[templated])[key]
    # A generator template that keeps within the project (here: only a name) is fine.
    naming = application_set("tight")
    naming["spec"]["generators"][0]["list"]["template"] = {"metadata": {"name": "x-{{name}}"}}
    assert refused(tight(), objects=[naming]) == {}
