"""The dashboard in headless Chromium against a running system on kubesim: real Redis,
a real Celery worker, real git, the real API server over HTTP. What a person sees and
clicks: the list, live revisions, drift and its diff, Sync, rollback, roles (the app page's
graph, panel, actions and streams: test_dashboard_app_page.py)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.control.catalog import register
from reconciler.engine.cluster import Cluster
from reconciler.model import load_file, parse_manifests
from tests.conftest import GitRepo
from tests.dashboard.conftest import ADMIN_TOKEN, READONLY_TOKEN, Dashboard
from tests.integration.conftest import System

pytestmark = pytest.mark.timeout(90)

SEED_APPS = ("api", "infrastructure", "root", "worker")
IMAGE = "registry.example.com/api"


def sign_in(page: Any, dashboard: Dashboard, path: str = "/", token: str = ADMIN_TOKEN) -> None:
    page.goto(dashboard.url + path)
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("body[data-loaded=true]")


def synced_at(system: System, name: str, revision: str) -> bool:
    sync = system.status(name).get("sync") or {}
    return sync.get("status") == "Synced" and sync.get("revision") == revision


def register_root(system: System, repo: GitRepo) -> str:
    register(system.store, load_file(repo.path / "argocd" / "root.yaml"), first_poll_in=0)
    head = repo.head()
    for name in SEED_APPS:
        system.wait_for(lambda n=name: synced_at(system, n, head), what=f"{name} Synced at {head[:7]}")
    return head


def register_api_app(system: System, repo: GitRepo, name: str, *, automated: bool) -> None:
    """The seed's api chart as its own app in its own namespace, with or without automated sync."""
    policy = "    automated: {prune: true, selfHeal: true}\n" if automated else ""
    manifest = f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd}}
spec:
  project: default
  source:
    repoURL: "{repo.url}"
    targetRevision: HEAD
    path: apps/api
    helm: {{valueFiles: [values.yaml, values-prod.yaml]}}
  destination: {{server: https://kubernetes.default.svc, namespace: {name}}}
  syncPolicy:
{policy}    syncOptions: [CreateNamespace=true]
"""
    register(system.store, parse_manifests(manifest, source_file=f"{name}.yaml"), first_poll_in=0)


def image_of(system: System, name: str) -> str | None:
    live = system.cluster.get("apps/v1", "Deployment", name, name)
    return None if live is None else str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def commit_image_tag(repo: GitRepo, tag: str) -> str:
    values = (repo.path / "apps/api/values-prod.yaml").read_text()
    current = next(line for line in values.splitlines() if line.strip().startswith("tag:"))
    return repo.commit({"apps/api/values-prod.yaml": values.replace(current, f"  tag: {tag}")}, message=f"api@{tag}")


def edit_image_by_hand(system: System, name: str, image: str) -> None:
    """What `kubectl edit` does: another field manager takes over the container image."""
    hand = Cluster(system.cluster.api_client, field_manager="kubectl-edit")
    labels = {"app.kubernetes.io/name": "api"}
    hand.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": name},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "api", "image": image}]}},
            },
        },
        force=True,
    )


def sync_manually(system: System, name: str) -> str:
    """A user's sync through the same path the API takes, waited for until it is in history."""
    from reconciler.control import user_actions as actions
    from workers.tasks import request_sync

    before = len(system.store.history(name))
    request_sync(system.store, actions.sync(system.store, name))
    system.wait_for(lambda: len(system.store.history(name)) > before, what=f"{name} synced")
    return str(system.store.history(name)[-1]["revision"])


def test_list_shows_the_seed_apps_with_sync_status_and_revisions(
    system: System, seed_repo: GitRepo, dashboard: Dashboard, page: Any
) -> None:
    from playwright.sync_api import expect

    head = register_root(system, seed_repo)
    sign_in(page, dashboard)
    for name in SEED_APPS:
        row = page.locator(f"tr[data-app={name}]")
        expect(row.locator(".col-sync")).to_have_text("Synced")
        expect(row.locator(".col-revision .synced-sha")).to_have_text(head[:7])
        expect(row.locator(".col-auto")).to_contain_text("self-heal")
    expect(page.locator("tr[data-app=api] .col-name")).to_contain_text("part of root")
    expect(page.locator("tr[data-app=api] .col-source")).to_contain_text("apps/api")


def test_list_filters_by_sync_status_project_and_text(
    system: System, seed_repo: GitRepo, dashboard: Dashboard, page: Any
) -> None:
    from playwright.sync_api import expect

    register_root(system, seed_repo)
    sign_in(page, dashboard)
    rows = page.locator("#apps tbody tr")
    expect(rows).to_have_count(len(SEED_APPS))
    page.get_by_label("Search").fill("work")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-app", "worker")
    page.get_by_label("Search").fill("")
    page.get_by_label("Sync status").select_option("OutOfSync")
    expect(rows).to_have_count(0)
    expect(page.locator("#apps-empty")).to_have_text("No application matches these filters.")
    page.get_by_label("Sync status").select_option("Synced")
    page.get_by_label("Project").select_option("default")
    expect(rows).to_have_count(len(SEED_APPS))
    assert "sync=Synced" in page.url and "project=default" in page.url


def test_push_shows_the_new_revision_without_a_reload(
    system: System, seed_repo: GitRepo, dashboard: Dashboard, page: Any
) -> None:
    from playwright.sync_api import expect

    register_api_app(system, seed_repo, "shop", automated=True)
    first = seed_repo.head()
    system.wait_for(lambda: synced_at(system, "shop", first), what="shop Synced")
    sign_in(page, dashboard)
    synced_cell = page.locator("tr[data-app=shop] .synced-sha")
    expect(synced_cell).to_have_text(first[:7])
    page.evaluate("window.__sameDocument = true")

    head = commit_image_tag(seed_repo, "v2")
    system.next_poll("shop")

    expect(synced_cell).to_have_text(head[:7])
    expect(page.locator("tr[data-app=shop] .target-sha")).to_have_text(head[:7])
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"


def test_manual_change_shows_out_of_sync_with_its_diff_and_sync_reverts_it(
    system: System, seed_repo: GitRepo, dashboard: Dashboard, page: Any
) -> None:
    from playwright.sync_api import expect

    register_api_app(system, seed_repo, "shop", automated=False)
    system.wait_for(lambda: system.status("shop").get("sync"), what="shop compared")
    sync_manually(system, "shop")
    assert image_of(system, "shop") == f"{IMAGE}:abc123def"
    sign_in(page, dashboard, "/ui/apps/shop")

    edit_image_by_hand(system, "shop", f"{IMAGE}:hotfix")
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#app-sync")).to_have_text("OutOfSync")
    deployment = page.locator(".node[data-node='apps/Deployment/shop/shop']")
    expect(deployment).to_have_attribute("data-sync", "OutOfSync")
    deployment.locator(".node-open").click()
    diff = page.locator("#panel-body #diff")  # an OutOfSync node opens on its diff
    expect(diff.locator(".del")).to_contain_text([f"{IMAGE}:hotfix"])
    expect(diff.locator(".add")).to_contain_text([f"{IMAGE}:abc123def"])
    page.get_by_role("button", name="Close").click()

    page.get_by_role("button", name="Sync", exact=True).click()
    system.wait_for(lambda: image_of(system, "shop") == f"{IMAGE}:abc123def", what="Sync to restore the image")
    expect(page.locator("#app-sync")).to_have_text("Synced")
    expect(deployment).to_have_attribute("data-sync", "Synced")


def test_rollback_button_syncs_the_revision_of_the_history_entry(
    system: System, seed_repo: GitRepo, dashboard: Dashboard, page: Any
) -> None:
    from playwright.sync_api import expect

    register_api_app(system, seed_repo, "shop", automated=False)
    system.wait_for(lambda: system.status("shop").get("sync"), what="shop compared")
    first = sync_manually(system, "shop")
    commit_image_tag(seed_repo, "v2")
    system.next_poll("shop")
    system.wait_for(lambda: system.status("shop").get("sync", {}).get("revision") != first, what="new commit seen")
    second = sync_manually(system, "shop")
    assert image_of(system, "shop") == f"{IMAGE}:v2"
    sign_in(page, dashboard, "/ui/apps/shop")

    page.get_by_role("button", name="Roll back to #1").click()

    system.wait_for(lambda: image_of(system, "shop") == f"{IMAGE}:abc123def", what="rollback to the first image")
    newest = page.locator("#history tbody tr").first
    expect(newest).to_have_attribute("data-history", "3")
    expect(newest).to_contain_text("rollback")
    expect(newest).to_contain_text(first[:7])
    expect(page.locator("#app-synced-revision")).to_have_text(first[:7])
    assert second != first


def test_rollback_is_disabled_with_the_reason_while_auto_sync_is_on(
    system: System, seed_repo: GitRepo, dashboard: Dashboard, page: Any
) -> None:
    from playwright.sync_api import expect

    register_api_app(system, seed_repo, "shop", automated=True)
    system.wait_for(lambda: system.store.history("shop"), what="shop synced")
    sign_in(page, dashboard, "/ui/apps/shop")

    button = page.get_by_role("button", name="Roll back to #1")
    expect(button).to_be_disabled()
    expect(page.locator("#rollback-reason")).to_contain_text("rollback cannot be initiated when auto-sync is enabled")
    expect(button).to_have_attribute("aria-describedby", "rollback-reason")


def test_read_only_token_sees_no_buttons(
    system: System, seed_repo: GitRepo, dashboard: Dashboard, page: Any
) -> None:
    from playwright.sync_api import expect

    register_api_app(system, seed_repo, "shop", automated=False)
    system.wait_for(lambda: system.status("shop").get("sync"), what="shop compared")
    sync_manually(system, "shop")
    sign_in(page, dashboard, "/ui/apps/shop", token=READONLY_TOKEN)

    expect(page.locator("#history tbody tr")).to_have_count(1)
    expect(page.locator("#role-badge")).to_have_text("signed in: readonly")
    expect(page.locator("#history tbody tr").first).to_contain_text("user")
    expect(page.locator(".node[data-kind=Deployment]")).to_have_count(1)
    for writer_only in ("#actions", "button.rollback", ".node-menu", ".node-select"):
        expect(page.locator(writer_only)).to_have_count(0)


def test_app_page_graph_shows_live_replicasets_and_pods_under_a_deployment(
    system: System, seed_repo: GitRepo, dashboard: Dashboard, page: Any
) -> None:
    from playwright.sync_api import expect

    register_root(system, seed_repo)
    deployment = system.cluster.get("apps/v1", "Deployment", "production", "api")
    assert deployment is not None
    add_replica_set_and_pod(system, deployment)
    sign_in(page, dashboard, "/ui/apps/api")

    expect(page.locator(".node[data-node='apps/Deployment/production/api']")).to_be_visible()
    expect(page.locator(".node[data-node='apps/ReplicaSet/production/api-5f7d9c']")).to_be_visible()
    expect(page.locator(".node[data-node='/Pod/production/api-5f7d9c-x2k4q']")).to_be_visible()
    expect(page.locator(".node[data-node='/Service/production/api']")).to_be_visible()
    expect(page.locator("#crumb-parent")).to_have_text("root")


def test_app_of_apps_root_lists_its_children_with_links(
    system: System, seed_repo: GitRepo, dashboard: Dashboard, page: Any
) -> None:
    from playwright.sync_api import expect

    register_root(system, seed_repo)
    sign_in(page, dashboard, "/ui/apps/root")

    children = page.locator("#children li")
    expect(children).to_have_count(3)
    page.locator("#children").get_by_role("link", name="worker").click()
    page.wait_for_url("**/ui/apps/worker")
    expect(page.locator("main h1")).to_have_text("worker")


def test_wrong_token_is_refused_with_the_reason(dashboard: Dashboard, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(dashboard.url + "/")
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("#login-reason")).to_contain_text("the bearer token is not valid")
    expect(page.locator("#main")).to_be_hidden()


def add_replica_set_and_pod(system: System, deployment: dict[str, Any]) -> None:
    """What the Deployment controller would create (the test's kubesim runs no controllers)."""
    labels = {"app.kubernetes.io/name": "api"}
    owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api",
             "uid": deployment["metadata"]["uid"], "controller": True}
    replica_set = system.cluster.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "api-5f7d9c", "namespace": "production", "labels": labels,
                         "ownerReferences": [owner],
                         "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels},
                             "spec": {"containers": [{"name": "api", "image": f"{IMAGE}:abc123def"}]}},
            },
        }
    )
    system.cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "api-5f7d9c-x2k4q", "namespace": "production", "labels": labels,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-5f7d9c",
                                              "uid": replica_set["metadata"]["uid"], "controller": True}]},
            "spec": {"containers": [{"name": "api", "image": f"{IMAGE}:abc123def"}]},
        }
    )


def test_keyboard_alone_signs_in_and_reaches_every_filter(dashboard: Dashboard, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(dashboard.url + "/")
    expect(page.locator("#login-token")).to_be_focused()
    page.keyboard.type(ADMIN_TOKEN)
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-loaded=true]")

    expect(page.locator("main h1")).to_be_focused()
    reached = []
    for _ in range(4):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
    assert reached == ["filter-sync", "filter-health", "filter-project", "filter-text"]
