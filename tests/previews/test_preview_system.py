"""Pull-request previews against the running system: real git repositories (the seed's
app-of-apps), kubesim, Redis and Celery workers."""

from __future__ import annotations

import subprocess

import pytest

from reconciler.control.previews.document import commit_state, exit_code
from reconciler.control.previews.request import PreviewRequest
from reconciler.control.previews.run import run_preview
from reconciler.services import Services
from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.previews.conftest import writes

PROD_VALUES = "apps/api/values-prod.yaml"


def branch(repo: GitRepo, name: str, files: dict[str, str], message: str = "change",
           removed: tuple[str, ...] = ()) -> str:
    """Commit `files` (and the removal of `removed`) on branch `name` (made from main when new)
    in a worktree of its own: the
    repository's HEAD stays on main throughout, so an app polling `HEAD` never sees the branch
    (a checkout of it, even for a moment, had the seed's automated apps sync it and back)."""
    worktree = repo.path.parent / f"{repo.path.name}-{name}-worktree"
    exists = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{name}"], cwd=repo.path,
                            capture_output=True, check=False).returncode == 0
    repo.git("worktree", "add", "-q", *((str(worktree), name) if exists else ("-b", name, str(worktree), "main")))
    try:
        on_branch = GitRepo(worktree)
        if removed:
            on_branch.remove(*removed)
        return on_branch.commit(files, message=message)
    finally:
        repo.git("worktree", "remove", "--force", str(worktree))


def by_name(document: dict) -> dict[str, dict]:
    return {app["name"]: app for app in document["apps"]}


@pytest.mark.timeout(180)
def test_a_values_change_shows_the_deployments_image_diff_and_writes_nothing(
    system: System, synced_seed: GitRepo, services: Services
) -> None:
    values = (synced_seed.path / PROD_VALUES).read_text()
    assert "abc123def" in values
    head = branch(synced_seed, "bump", {PROD_VALUES: values.replace("abc123def", "fed321cba")})
    system.kubesim.api.clear_log()
    document = run_preview(services, PreviewRequest(synced_seed.url, "main", "bump"))
    apps = by_name(document)
    assert document["head"] == head
    assert apps["api"]["status"] == "changed"
    assert {apps[n]["status"] for n in ("root", "worker", "infrastructure")} == {"unchanged"}
    [deployment] = [o for o in apps["api"]["objects"] if o["kind"] == "Deployment"]
    assert (deployment["group"], deployment["namespace"], deployment["name"], deployment["change"]) == (
        "apps", "production", "api", "changed")
    assert "-        image: registry.example.com/api:abc123def" in deployment["diff"]
    assert "+        image: registry.example.com/api:fed321cba" in deployment["diff"]
    assert exit_code(document) == 1 and commit_state(document) == "success"
    assert writes(system) == []


BILLING_APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: billing
  namespace: argocd
spec:
  project: default
  source:
    repoURL: {repo}
    targetRevision: HEAD
    path: apps/billing
  destination:
    server: https://kubernetes.default.svc
    namespace: billing
"""
BILLING_CONFIG = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: billing-config\ndata:\n  currency: EUR\n"


@pytest.mark.timeout(180)
def test_an_app_added_to_the_app_of_apps_shows_as_added_and_a_dropped_one_as_removed(
    system: System, synced_seed: GitRepo, services: Services
) -> None:
    branch(synced_seed, "billing", {"argocd/apps/billing.yaml": BILLING_APP.format(repo=synced_seed.url),
                                    "apps/billing/config.yaml": BILLING_CONFIG},
           message="billing in, worker out", removed=("argocd/apps/worker.yaml",))  # fmt: skip
    system.kubesim.api.clear_log()
    document = run_preview(services, PreviewRequest(synced_seed.url, "main", "billing"))
    apps = by_name(document)
    assert apps["root"]["status"] == "changed"
    assert apps["billing"]["status"] == "added" and apps["billing"]["project"] == "default"
    assert [(o["kind"], o["namespace"], o["name"], o["change"]) for o in apps["billing"]["objects"]] == [
        ("ConfigMap", "billing", "billing-config", "added")]
    assert "+  currency: EUR" in apps["billing"]["objects"][0]["diff"]
    assert apps["worker"]["status"] == "removed"
    assert exit_code(document) == 1
    assert system.store.app_manifest("billing") is None  # previewed, not registered
    assert writes(system) == []


@pytest.mark.timeout(180)
def test_a_newer_preview_of_the_same_pull_request_cancels_the_older_one(
    system: System, synced_seed: GitRepo, services: Services
) -> None:
    from reconciler.control.previews import lifecycle
    from reconciler.control.previews.request import PullRequest
    from reconciler.control.previews.run import PreviewCancelled

    values = (synced_seed.path / PROD_VALUES).read_text()
    head = branch(synced_seed, "bump", {PROD_VALUES: values.replace("abc123def", "fed321cba")})
    pr = PullRequest("github", "org/config", 5, head)
    older = lifecycle.start(system.store, PreviewRequest(synced_seed.url, "main", head, pull_request=pr))
    newer = lifecycle.start(system.store, PreviewRequest(synced_seed.url, "main", head, pull_request=pr))
    assert lifecycle.execute(services, older)["state"] == "cancelled"
    assert lifecycle.execute(services, newer)["state"] == "finished"
    with pytest.raises(PreviewCancelled):
        run_preview(services, PreviewRequest(synced_seed.url, "main", head), should_stop=lambda: True)


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  app: {name}\n"


@pytest.mark.timeout(180)
def test_an_applicationset_app_added_at_head_shows_as_added_and_a_dropped_one_as_removed(
    system: System, git_repo_factory, services: Services
) -> None:
    import yaml

    from reconciler.control import user_actions
    from reconciler.model import parse_manifests
    from tests.appsets.conftest import app_template, appset

    repo = git_repo_factory({f"apps/{n}/cm.yaml": CONFIGMAP.format(name=n) for n in ("web", "jobs")})
    template = app_template("{{path.basename}}", "{{path}}", "{{path.basename}}", repo=repo.url,
                            syncPolicy={"syncOptions": ["CreateNamespace=true"]})
    manifest = appset("apps", [{"git": {"repoURL": repo.url, "revision": "HEAD", "directories": [{"path": "apps/*"}]}}],
                      template)
    user_actions.create(system.store, parse_manifests(yaml.safe_dump(manifest)), owner="api")
    system.wait_for(lambda: system.store.apps_owned_by("apps") == ["jobs", "web"], 60, "the set generates two apps")
    branch(repo, "shop", {"apps/shop/cm.yaml": CONFIGMAP.format(name="shop")}, message="shop in, jobs out",
           removed=("apps/jobs",))
    document = run_preview(services, PreviewRequest(repo.url, "main", "shop"))
    apps = by_name(document)
    assert apps["shop"]["status"] == "added"
    assert [(o["kind"], o["namespace"], o["name"], o["change"]) for o in apps["shop"]["objects"]] == [
        ("ConfigMap", "shop", "shop", "added")]
    assert apps["jobs"]["status"] == "removed" and apps["web"]["status"] == "unchanged"
    assert system.store.app_manifest("shop") is None


GUARDED_PROJECT = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: guarded, namespace: argocd}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
  syncWindows: [{kind: deny, schedule: "* * * * *", duration: 1h, applications: ["*"]}]
"""
SHOP_APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: shop, namespace: argocd}}
spec:
  project: guarded
  source: {{repoURL: "{repo}", path: shop, targetRevision: HEAD}}
  destination: {{server: https://kubernetes.default.svc, namespace: shop}}
"""
MIGRATE_HOOK = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: {argocd.argoproj.io/hook: PreSync}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: busybox}]
"""
CLUSTER_ROLE = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: shop-admin\nrules: []\n"


@pytest.mark.timeout(120)
def test_a_preview_lists_the_hooks_that_would_run_and_what_the_project_and_a_sync_window_refuse(
    system: System, git_repo_factory, services: Services
) -> None:
    from reconciler.control.catalog import register
    from reconciler.control.previews.document import status_description
    from reconciler.model import parse_manifests

    repo = git_repo_factory({"shop/cm.yaml": CONFIGMAP.format(name="shop")})
    register(system.store, parse_manifests(GUARDED_PROJECT + "---\n" + SHOP_APP.format(repo=repo.url)))
    branch(repo, "hooked", {"shop/migrate.yaml": MIGRATE_HOOK, "shop/role.yaml": CLUSTER_ROLE})
    document = run_preview(services, PreviewRequest(repo.url, "main", "hooked"))
    [shop] = document["apps"]
    assert shop["status"] == "changed"
    assert shop["hooks"] == [{"phase": "PreSync", "kind": "Job", "namespace": "shop", "name": "migrate"}]
    reasons = {r["reason"]: r["message"] for r in shop["refused"]}
    assert "ClusterRole" in reasons["project"] and "shop-admin" in reasons["project"]
    assert "deny" in reasons["syncWindow"].lower() or "window" in reasons["syncWindow"].lower()
    assert [(o["kind"], o["change"]) for o in shop["objects"]] == [("ClusterRole", "added")]
    assert commit_state(document) == "failure" and "refused by a project" in status_description(document)


SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: shop-db\nstringData:\n  password: {password}\n"


@pytest.mark.timeout(120)
def test_a_secret_in_a_preview_is_masked_as_app_diff_masks_it(
    system: System, git_repo_factory, services: Services
) -> None:
    import base64
    import json

    from reconciler.control.catalog import register
    from reconciler.model import parse_manifests

    repo = git_repo_factory({"shop/db.yaml": SECRET.format(password="first-secret-value")})
    register(system.store, parse_manifests(SHOP_APP.format(repo=repo.url).replace("guarded", "default")))
    branch(repo, "rotate", {"shop/db.yaml": SECRET.format(password="second-secret-value")})
    document = run_preview(services, PreviewRequest(repo.url, "main", "rotate"))
    [obj] = by_name(document)["shop"]["objects"]
    assert obj["kind"] == "Secret" and obj["diff"]
    text = json.dumps(document)
    for value in ("first-secret-value", "second-secret-value"):
        assert value not in text and base64.b64encode(value.encode()).decode() not in text
