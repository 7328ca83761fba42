"""Issue 22, cases 1 and 2: a Git writer of one app in a restricted AppProject tries to reach past
it, through resource hooks (every phase, sync and delete), CreateNamespace's Namespace, and an app
of apps (child AppProjects, children in other projects, taking over an admin's app). Real Redis,
Celery workers, git repositories and kubesim (tests/integration/conftest.py). Written from Argo
CD's behaviour: every task of a sync, hooks included, passes the project's permission validator
before any runs ("resource :ClusterRole is not permitted in project ..."), and a resource the
project forbids shows sync status Unknown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.control import user_actions as actions
from reconciler.model import parse_manifests
from tests.conftest import GitRepo
from tests.integration import conftest as integration
from tests.integration.conftest import TEST_REF_CACHE_TTL, System
from tests.integration.sync_helpers import delete_app, wait_operation_end

# The integration tests' fixtures: Celery workers and beat's tick on the session's Redis, a kubesim.
celery_app = integration.celery_app
system = integration.system

pytestmark = [pytest.mark.timeout(120)]

IN_CLUSTER = "https://kubernetes.default.svc"
HOOK = "argocd.argoproj.io/hook"


# --- manifests ----------------------------------------------------------------------------


def project(name: str, repo: GitRepo, *, namespaces: tuple[str, ...] = ("team-a",), kinds: tuple[str, ...] = (
        "ConfigMap",), cluster_kinds: tuple[tuple[str, str], ...] = (), annotations: dict[str, str] | None = None,
        children: bool = False) -> dict[str, Any]:
    """An AppProject of one repository, a few namespaces on the in-cluster server, the core kinds
    `kinds` (namespaced; with `children`, argoproj.io/Application too) and the cluster-scoped
    `cluster_kinds` (group, kind)."""
    doc = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": name, "namespace": "argocd", "annotations": annotations or {}},
        "spec": {
            "sourceRepos": [repo.url],
            "destinations": [{"server": IN_CLUSTER, "namespace": ns} for ns in namespaces],
            "namespaceResourceWhitelist": [{"group": "", "kind": kind} for kind in kinds],
            "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in cluster_kinds],
        },
    }
    if children:
        doc["spec"]["namespaceResourceWhitelist"].append({"group": "argoproj.io", "kind": "Application"})
    return doc


def application(name: str, repo: GitRepo, *, project_name: str, path: str = "app", namespace: str = "team-a",
                options: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": project_name,
            "source": {"repoURL": repo.url, "path": path, "targetRevision": "HEAD"},
            "destination": {"server": IN_CLUSTER, "namespace": namespace},
            "syncPolicy": {"syncOptions": list(options)},
        },
    }


def config_map(name: str, namespace: str = "team-a", hook: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if hook:
        meta["annotations"] = {HOOK: hook}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}


def cluster_role(name: str, hook: str = "") -> dict[str, Any]:
    """A ClusterRole that may do anything (a resource hook of phase `hook` when given)."""
    meta: dict[str, Any] = {"name": name}
    if hook:
        meta["annotations"] = {HOOK: hook}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta,
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
    }


def secret(name: str, hook: str = "", namespace: str = "team-a") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if hook:
        meta["annotations"] = {HOOK: hook}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": {"token": "s3cr3t"}}


def files(**docs: dict[str, Any]) -> dict[str, str]:
    return {f"app/{name}.yaml": json.dumps(doc) for name, doc in docs.items()}


# --- driving the system -------------------------------------------------------------------


def admin_creates(system: System, *docs: dict[str, Any]) -> None:
    """What `reconciler app create -f` does for an admin (owner `cli`)."""
    text = "\n---\n".join(json.dumps(doc) for doc in docs)
    actions.create(system.store, parse_manifests(text, source_file="admin.yaml"), owner="cli")


def user_sync(system: System, name: str, prune: bool = False) -> dict[str, Any]:
    """`reconciler app sync NAME`, and the operation once it ended."""
    from workers.tasks import request_sync

    before = system.operation(name).get("id", "")
    request_sync(system.store, actions.sync(system.store, name, prune=prune))
    return wait_operation_end(system, name, after=before)


def namespace(system: System, name: str) -> None:
    system.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def condition(system: System, app: str, kind: str, containing: str) -> dict[str, Any]:
    """The app's condition of `kind` whose message contains `containing`, once a poll wrote it."""
    def found() -> dict[str, Any] | None:
        conditions = system.status(app).get("conditions") or []
        return next((c for c in conditions if c["type"] == kind and containing in c["message"]), None)

    return system.wait_for(found, what=f"a {kind} condition of {app} about {containing!r}")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`reconciler ...` as a person runs it: Redis from REDIS_URL (the celery_app fixture's)."""
    env = dict(os.environ)
    env.pop("RECONCILER_SERVER", None)
    return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def nothing_created(system: System) -> bool:
    return (
        system.cluster.get("rbac.authorization.k8s.io/v1", "ClusterRole", None, "escalate") is None
        and system.cluster.get("v1", "ConfigMap", "kube-system", "planted") is None
        and system.cluster.get("v1", "Secret", "team-a", "stolen") is None
        and system.cluster.get("v1", "ConfigMap", "team-a", "settings") is None
    )


# --- case 1: every hook passes the project ------------------------------------------------

FORBIDDEN_HOOKS = {
    "presync-cluster-role": (
        cluster_role("escalate", "PreSync"),
        "PreSync hook ClusterRole escalate: cluster-scoped kind rbac.authorization.k8s.io/ClusterRole is not "
        'permitted in project "tight" (not in spec.clusterResourceWhitelist)',
    ),
    "sync-hook-configmap-in-kube-system": (
        config_map("planted", namespace="kube-system", hook="Sync"),
        'Sync hook ConfigMap kube-system/planted: destination server https://kubernetes.default.svc, namespace '
        '"kube-system" is not permitted in project "tight"',
    ),
    "postsync-secret": (
        secret("stolen", hook="PostSync"),
        'PostSync hook Secret team-a/stolen: namespaced kind Secret is not permitted in project "tight" '
        "(not in spec.namespaceResourceWhitelist)",
    ),
    "syncfail-cluster-role": (
        cluster_role("escalate", "SyncFail"),
        "SyncFail hook ClusterRole escalate: cluster-scoped kind rbac.authorization.k8s.io/ClusterRole",
    ),
    "helm-pre-install-cluster-role": (
        {**cluster_role("escalate"), "metadata": {"name": "escalate", "annotations": {"helm.sh/hook": "pre-install"}}},
        "PreSync hook ClusterRole escalate: cluster-scoped kind rbac.authorization.k8s.io/ClusterRole",
    ),
}


@pytest.mark.parametrize("case", sorted(FORBIDDEN_HOOKS))
def test_a_hook_the_project_forbids_refuses_the_sync_before_anything_is_applied(
    system: System, git_repo_factory: Callable[..., GitRepo], case: str
) -> None:
    hook, message = FORBIDDEN_HOOKS[case]
    namespace(system, "team-a")
    repo = git_repo_factory(files(settings=config_map("settings"), hook=hook))
    admin_creates(system, project("tight", repo), application("team-app", repo, project_name="tight"))
    op = user_sync(system, "team-app")
    assert op["phase"] == "Failed", op
    assert message in op["message"]
    assert not op.get("hooks"), "no hook may run"
    assert nothing_created(system), "nothing of the render may be applied"
    # The poll says the same, and the automated path would not sync it.
    condition(system, "team-app", "InvalidSpecError", message)


def test_a_skip_hook_the_project_forbids_is_never_applied_and_the_sync_goes_on(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    # Argo CD never makes a task of a Skip object, so its permission validator never sees one.
    namespace(system, "team-a")
    repo = git_repo_factory(files(settings=config_map("settings"), hook=cluster_role("escalate", "Skip")))
    admin_creates(system, project("tight", repo), application("team-app", repo, project_name="tight"))
    op = user_sync(system, "team-app")
    assert op["phase"] == "Succeeded", op["message"]
    assert system.cluster.get("rbac.authorization.k8s.io/v1", "ClusterRole", None, "escalate") is None
    assert system.cluster.get("v1", "ConfigMap", "team-a", "settings") is not None


@pytest.mark.parametrize("phase", ["PreDelete", "PostDelete"])
def test_a_delete_hook_the_project_forbids_refuses_the_cascade_delete_and_keeps_the_app(
    system: System, git_repo_factory: Callable[..., GitRepo], phase: str
) -> None:
    namespace(system, "team-a")
    repo = git_repo_factory(files(settings=config_map("settings")))
    admin_creates(system, project("tight", repo), application("team-app", repo, project_name="tight"))
    assert user_sync(system, "team-app")["phase"] == "Succeeded"
    repo.commit(files(hook=cluster_role("escalate", phase)), message=f"a {phase} hook beyond the project")
    time.sleep(TEST_REF_CACHE_TTL * 2)  # the shared `git ls-remote` answer expires
    result = delete_app(system, "team-app")
    expected = f"{phase} hook ClusterRole escalate: cluster-scoped kind rbac.authorization.k8s.io/ClusterRole"
    assert result.failed and expected in result.failed[0]
    assert result.resources == () and not result.pre_delete_hooks and not result.post_delete_hooks
    assert system.store.app_manifest("team-app") is not None
    assert system.cluster.get("v1", "ConfigMap", "team-a", "settings") is not None
    assert system.cluster.get("rbac.authorization.k8s.io/v1", "ClusterRole", None, "escalate") is None
    # `reconciler app delete --cascade` says so and exits 1; the app carries a DeletionError.
    again = cli("app", "delete", "team-app", "--cascade")
    assert again.returncode == 1 and expected in again.stderr
    system.next_poll("team-app")
    condition(system, "team-app", "DeletionError", expected)


def test_the_namespace_of_create_namespace_passes_the_project(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory(files(settings=config_map("settings", namespace="team-b")))
    admin_creates(
        system,
        project("tight", repo, namespaces=("team-b",)),
        application("team-app", repo, project_name="tight", namespace="team-b", options=("CreateNamespace=true",)),
    )
    op = user_sync(system, "team-app")
    assert op["phase"] == "Failed", op
    assert (
        'Namespace team-b (CreateNamespace=true): cluster-scoped kind Namespace is not permitted in project "tight" '
        "(not in spec.clusterResourceWhitelist)"
    ) in op["message"]
    assert system.cluster.get("v1", "Namespace", None, "team-b") is None
    # With Namespace whitelisted, the same app syncs and creates it.
    admin_creates(system, project("tight", repo, namespaces=("team-b",), cluster_kinds=(("", "Namespace"),)))
    op = user_sync(system, "team-app")
    assert op["phase"] == "Succeeded", op["message"]
    assert system.cluster.get("v1", "ConfigMap", "team-b", "settings") is not None


# --- issue 23 item 15: a resource the project forbids is Unknown --------------------------


def resource_row(system: System, app: str, kind: str, name: str) -> dict[str, Any] | None:
    rows = system.status(app).get("resources") or []
    return next((r for r in rows if r["kind"] == kind and r["name"] == name), None)


def test_a_resource_the_project_forbids_is_unknown_in_the_resource_list_and_never_applied(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    namespace(system, "team-a")
    repo = git_repo_factory(files(settings=config_map("settings"), token=secret("stolen")))
    admin_creates(system, project("tight", repo), application("team-app", repo, project_name="tight"))
    row = system.wait_for(lambda: resource_row(system, "team-app", "Secret", "stolen"), what="the Secret's row")
    assert row["status"] == "Unknown"
    assert 'namespaced kind Secret is not permitted in project "tight"' in row["message"]
    assert resource_row(system, "team-app", "ConfigMap", "settings")["status"] == "Missing"  # type: ignore[index]
    condition(system, "team-app", "InvalidSpecError", "Secret team-a/stolen")
    op = user_sync(system, "team-app")
    assert op["phase"] == "Failed" and "Secret team-a/stolen" in op["message"]
    assert nothing_created(system)


def test_a_live_object_the_project_no_longer_permits_is_unknown_and_never_pruned(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    namespace(system, "team-a")
    repo = git_repo_factory(files(settings=config_map("settings"), token=secret("stolen")))
    admin_creates(system, project("tight", repo, kinds=("ConfigMap", "Secret")),
                  application("team-app", repo, project_name="tight"))
    assert user_sync(system, "team-app")["phase"] == "Succeeded"
    # The admin narrows the project; the Secret leaves Git. Argo CD ignores live objects of kinds the
    # project does not permit: it is not pruned, and it does not make the app OutOfSync.
    admin_creates(system, project("tight", repo))
    repo.remove("app/token.yaml")
    repo.commit(message="drop the secret")
    system.next_poll("team-app")
    # Between the narrowing and the poll of the new commit the Secret is still in Git and so is
    # Unknown as a forbidden desired object; wait for the poll that sees it live-only.
    row = system.wait_for(
        lambda: (r := resource_row(system, "team-app", "Secret", "stolen")) and "not pruned" in r.get("message", "")
        and r,
        what="the Secret Unknown and not pruned")
    assert row["status"] == "Unknown"
    assert system.status("team-app")["sync"]["status"] == "Synced"
    op = user_sync(system, "team-app", prune=True)
    assert op["phase"] == "Succeeded", op["message"]
    assert system.cluster.get("v1", "Secret", "team-a", "stolen") is not None


# --- case 2: app of apps ------------------------------------------------------------------


def root_with(system: System, git_repo_factory: Callable[..., GitRepo], children: dict[str, dict[str, Any]]) -> GitRepo:
    """A root app `root` in project `tight` (admin-registered) whose repository holds `children`
    under apps/."""
    repo = git_repo_factory({f"apps/{name}.yaml": json.dumps(doc) for name, doc in children.items()})
    tight = project("tight", repo, namespaces=("team-a", "argocd"), children=True)
    admin_creates(system, tight, application("root", repo, project_name="tight", path="apps"))
    return repo


def test_a_child_app_project_that_rewrites_its_parents_project_is_refused(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    wide = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": "tight", "namespace": "argocd"},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
                     "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}}
    repo = git_repo_factory({"apps/project.yaml": json.dumps(wide)})
    # Even a project that may manage projects can never rewrite itself through its own apps.
    tight = project("tight", repo, namespaces=("team-a", "argocd"), cluster_kinds=(("argoproj.io", "AppProject"),),
                    children=True)
    admin_creates(system, tight, application("root", repo, project_name="tight", path="apps"))
    registered = system.store.project_manifest("tight")
    op = user_sync(system, "root")
    assert op["phase"] == "Failed", op
    message = 'AppProject "tight" rendered by application \'root\': it is the app\'s own project'
    assert message in op["message"]
    assert system.store.project_manifest("tight") == registered
    condition(system, "root", "InvalidSpecError", message)


def test_a_child_app_project_is_refused_unless_the_parents_project_names_app_project_explicitly(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    other = project("team-x", git_repo_factory(), namespaces=("*",), cluster_kinds=(("*", "*"),))
    other["metadata"].pop("annotations")
    repo = git_repo_factory({"apps/project.yaml": json.dumps(other)})
    wildcard = project("tight", repo, namespaces=("team-a", "argocd"), cluster_kinds=(("*", "*"),), children=True)
    admin_creates(system, wildcard, application("root", repo, project_name="tight", path="apps"))
    op = user_sync(system, "root")
    assert op["phase"] == "Failed", op
    assert (
        'AppProject "team-x" rendered by application \'root\': project "tight" does not permit managing projects: '
        "list {group: argoproj.io, kind: AppProject} in its spec.clusterResourceWhitelist "
        "(a wildcard such as */* does not count)"
    ) in op["message"]
    assert system.store.project_manifest("team-x") is None
    # Named explicitly, the parent may register it (and owns it from then on).
    explicit = project("tight", repo, namespaces=("team-a", "argocd"),
                       cluster_kinds=(("*", "*"), ("argoproj.io", "AppProject")), children=True)
    admin_creates(system, explicit)
    op = user_sync(system, "root")
    assert op["phase"] == "Succeeded", op["message"]
    assert system.store.project_manifest("team-x") is not None
    assert system.store.project_owner("team-x") == "parent:root"


def test_a_child_in_another_project_than_its_parents_is_refused(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    child_repo = git_repo_factory(files(role=cluster_role("escalate")))
    child = application("escape", child_repo, project_name="default", namespace="team-a")
    root_with(system, git_repo_factory, {"escape": child})
    op = user_sync(system, "root")
    assert op["phase"] == "Failed", op
    message = (
        'child application "escape": spec.project is "default", not its parent\'s project "tight": a parent '
        'registers children only in its own project, unless project "default" lists "tight" in its annotation '
        "reconciler.io/parent-projects"
    )
    assert message in op["message"]
    assert system.store.app_manifest("escape") is None
    condition(system, "root", "InvalidSpecError", message)
    row = resource_row(system, "root", "Application", "escape")
    assert row is not None and row["status"] == "Unknown" and message in row["message"]


def test_a_child_in_another_project_is_registered_only_once_that_project_names_the_parents(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    child_repo = git_repo_factory(files(settings=config_map("settings")))
    child = application("team-child", child_repo, project_name="team-a", namespace="team-a")
    root_with(system, git_repo_factory, {"team-child": child})
    admin_creates(system, project("team-a", child_repo))
    op = user_sync(system, "root")
    assert op["phase"] == "Failed" and 'unless project "team-a" lists "tight"' in op["message"], op
    assert system.store.app_manifest("team-child") is None
    # The admin of team-a consents, by name, to children of apps in tight.
    admin_creates(system, project("team-a", child_repo, annotations={"reconciler.io/parent-projects": "other, tight"}))
    op = user_sync(system, "root")
    assert op["phase"] == "Succeeded", op["message"]
    assert system.store.app_manifest("team-child") is not None
    assert system.store.app_owner("team-child") == "parent:root"


def test_a_child_whose_destination_the_parents_project_forbids_is_refused(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    child_repo = git_repo_factory(files(settings=config_map("settings", namespace="kube-system")))
    child = application("sideways", child_repo, project_name="tight", namespace="kube-system")
    root_with(system, git_repo_factory, {"sideways": child})
    op = user_sync(system, "root")
    assert op["phase"] == "Failed", op
    assert 'child application "sideways": spec.destination: destination server' in op["message"]
    assert '"kube-system" is not permitted in project "tight"' in op["message"]
    assert system.store.app_manifest("sideways") is None


def test_a_parent_never_overwrites_an_application_an_admin_registered(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    admin_repo = git_repo_factory(files(settings=config_map("settings")))
    admin_app = application("billing", admin_repo, project_name="default", namespace="team-a")
    manifest_file = admin_repo.path / "billing-app.json"
    manifest_file.write_text(json.dumps(admin_app))
    assert cli("app", "create", "-f", str(manifest_file)).returncode == 0
    registered = system.store.app_manifest("billing")
    attacker_repo = git_repo_factory(files(role=cluster_role("escalate")))
    takeover = application("billing", attacker_repo, project_name="tight", namespace="team-a")
    root_with(system, git_repo_factory, {"billing": takeover})
    op = user_sync(system, "root")
    assert op["phase"] == "Failed", op
    message = "child application \"billing\" is registered by the CLI (owner cli), not by application 'root'"
    assert message in op["message"]
    assert system.store.app_manifest("billing") == registered
    assert system.store.app_owner("billing") == "cli"
    condition(system, "root", "InvalidSpecError", message)
    row = resource_row(system, "root", "Application", "billing")
    assert row is not None and row["status"] == "Unknown"


def test_a_child_application_set_whose_generator_template_names_another_project_is_refused(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    # Argo CD merges a generator's own `template` over spec.template, so the set's literal project
    # alone says nothing: this one would generate an app in `default` (which allows everything).
    child_repo = git_repo_factory(files(role=cluster_role("escalate")))
    fleet = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
        "metadata": {"name": "fleet", "namespace": "argocd"},
        "spec": {
            "generators": [{"list": {"elements": [{"name": "escaped"}],
                                     "template": {"metadata": {}, "spec": {"project": "default"}}}}],
            "template": {"metadata": {"name": "{{name}}"},
                         "spec": {"project": "tight",
                                  "source": {"repoURL": child_repo.url, "path": "app", "targetRevision": "HEAD"},
                                  "destination": {"server": IN_CLUSTER, "namespace": "team-a"}}},
        },
    }
    repo = git_repo_factory({"apps/fleet.yaml": json.dumps(fleet)})
    tight = project("tight", repo, namespaces=("team-a", "argocd"), children=True)
    tight["spec"]["namespaceResourceWhitelist"].append({"group": "argoproj.io", "kind": "ApplicationSet"})
    admin_creates(system, tight, application("root", repo, project_name="tight", path="apps"))
    op = user_sync(system, "root")
    assert op["phase"] == "Failed", op
    message = (
        "ApplicationSet \"fleet\" rendered by application 'root' (spec.generators[0].list.template.spec): "
        'spec.project is "default", not its parent\'s project "tight"'
    )
    assert message in op["message"]
    assert system.store.appset_manifest("fleet") is None
    assert system.store.app_manifest("escaped") is None
    assert system.cluster.get("rbac.authorization.k8s.io/v1", "ClusterRole", None, "escalate") is None
