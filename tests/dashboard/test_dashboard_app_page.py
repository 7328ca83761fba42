"""The app page in headless Chromium against the running system on kubesim with its controllers
(Deployments roll out, Pods run or crash-loop and write logs, Events are recorded): the resource
graph and its filters, a node's panel (diff, why, events, logs), resource actions and who sees
them, orphaned resources, a selective sync, and an update arriving by server-sent events."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from reconciler.engine.cluster import Cluster
from tests.conftest import GitRepo
from tests.dashboard.conftest import ADMIN_TOKEN, READONLY_TOKEN, Dashboard
from tests.integration.conftest import System
from tests.integration.sync_helpers import (  # noqa: F401 (the kubesim fixture with controllers)
    NAMESPACE,
    app_manifest,
    kubesim_with_controllers,
    register_app,
    sync_now,
    wait_operation_end,
)

pytestmark = pytest.mark.timeout(120)

PROJECT = json.dumps({
    "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": "watched", "namespace": "argocd"},
    "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
             "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
             "orphanedResources": {"warn": True, "ignore": [{"kind": "Secret"}]}},
})
SERVICE = json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
                      "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})


def deployment(name: str, image: str, env: dict[str, str] | None = None) -> str:
    labels = {"app": name}
    container: dict[str, Any] = {"name": name, "image": image}
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}},
    })


def pods(system: System, prefix: str) -> list[dict[str, Any]]:
    return [p for p in system.cluster.list("v1", "Pod", namespace="shop") if p["metadata"]["name"].startswith(prefix)]


@pytest.fixture
def shop(system: System, git_repo_factory: Callable[..., GitRepo]) -> System:
    """App `shop` (project `watched`, orphaned resources on) synced: web (logs a tick a second,
    with a Service) and api (crash-looping), each with its ReplicaSet and Pod."""
    repo = git_repo_factory(files={
        "app/ns.yaml": NAMESPACE, "app/svc.yaml": SERVICE,
        "app/web.yaml": deployment("web", "nginx:1.25", {"KUBESIM_LOG_EVERY_SECONDS": "1"}),
        "app/api.yaml": deployment("api", "example.com/crashloop-api:1"),
    })
    register_app(system, PROJECT)
    register_app(system, app_manifest("shop", repo, project="watched"))
    system.wait_for(lambda: system.status("shop"), what="the first poll")
    sync_now(system, "shop")
    wait_operation_end(system, "shop")
    system.wait_for(lambda: pods(system, "web-") and pods(system, "api-"), what="web's and api's pods")
    return system


def sign_in(page: Any, dashboard: Dashboard, path: str, token: str = ADMIN_TOKEN) -> None:
    page.goto(dashboard.url + path)
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("body[data-loaded=true][data-graph=ready]")


def node(page: Any, kind: str, name: str = "") -> Any:
    selector = f".node[data-kind={kind}]" + (f"[data-name^='{name}']" if name else "")
    return page.locator(selector)


def open_node(page: Any, kind: str, name: str, tab: str) -> Any:
    node(page, kind, name).first.locator(".node-open").click()
    page.get_by_role("tab", name=tab).click()
    return page.locator("#panel-body")


def scale_by_hand(system: System, name: str, replicas: int) -> None:
    Cluster(system.cluster.api_client, field_manager="kubectl-scale").patch(
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"}},
        {"spec": {"replicas": replicas}}, "application/merge-patch+json")


def replicas(system: System, name: str) -> int:
    return int(system.cluster.get("apps/v1", "Deployment", "shop", name)["spec"]["replicas"])


def add_endpoint_slice(system: System) -> None:
    """What the EndpointSlice controller makes for Service web (kubesim's controllers do not)."""
    service = system.cluster.get("v1", "Service", "shop", "web")
    system.cluster.create({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-abcde", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"},
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web",
                                          "uid": service["metadata"]["uid"], "controller": True}]},
        "addressType": "IPv4", "endpoints": [], "ports": [{"port": 80}],
    })


def test_graph_draws_what_each_object_owns_with_sync_and_health_and_filters_by_health(
        shop: System, dashboard: Dashboard, page: Any) -> None:
    from playwright.sync_api import expect

    add_endpoint_slice(shop)
    sign_in(page, dashboard, "/ui/apps/shop")
    expect(node(page, "Deployment", "web")).to_have_attribute("data-sync", "Synced")
    for kind, name in (("ReplicaSet", "web-"), ("Pod", "web-"), ("Pod", "api-"), ("Service", "web"),
                       ("EndpointSlice", "web")):
        expect(node(page, kind, name).first).to_be_visible()
    expect(node(page, "Pod", "api-").first).to_have_attribute("data-health", "Degraded")
    assert page.locator(".graph svg path.edge").count() >= 7  # app→5 objects, Deployment→RS→Pod, Service→slice

    page.get_by_label("Health").select_option("Degraded")
    expect(node(page, "Pod", "api-")).to_have_count(1)
    expect(node(page, "Pod", "web-")).to_have_count(0)
    expect(node(page, "Deployment", "api")).to_be_visible()  # the path from the app to the match stays
    page.get_by_label("Kind").select_option("Service")
    expect(node(page, "Pod")).to_have_count(0)



def test_a_node_shows_its_diff_and_why_it_is_out_of_sync_field_by_field(
        shop: System, dashboard: Dashboard, page: Any) -> None:
    from playwright.sync_api import expect

    scale_by_hand(shop, "web", 3)
    shop.next_poll("shop")
    shop.wait_for(lambda: shop.status("shop").get("sync", {}).get("status") == "OutOfSync", what="drift seen")
    sign_in(page, dashboard, "/ui/apps/shop")
    expect(node(page, "Deployment", "web")).to_have_attribute("data-sync", "OutOfSync")

    panel = open_node(page, "Deployment", "web", "Diff")
    expect(panel.locator("#diff .del")).to_contain_text(["replicas: 3"])
    expect(panel.locator("#diff .add")).to_contain_text(["replicas: 1"])
    page.get_by_role("tab", name="Why OutOfSync").click()
    row = panel.locator("#why tr[data-path='spec.replicas']")
    expect(row).to_contain_text("owned by manager kubectl-scale")
    page.get_by_role("tab", name="Live manifest").click()
    expect(panel.locator("#manifest-live")).to_contain_text("replicas: 3")
    page.get_by_role("tab", name="Desired manifest").click()
    expect(panel.locator("#manifest-desired")).to_contain_text("replicas: 1")


def test_events_of_a_deployment_include_those_of_its_pods(shop: System, dashboard: Dashboard, page: Any) -> None:
    from playwright.sync_api import expect

    sign_in(page, dashboard, "/ui/apps/shop")
    panel = open_node(page, "Deployment", "web", "Events")
    expect(panel.locator("#events tbody tr").first).to_be_visible()
    expect(panel.locator("#events")).to_contain_text("Pod/web-")


def test_logs_of_a_crash_looping_pod_say_why_it_exits_and_follow_streams_new_lines(
        shop: System, dashboard: Dashboard, page: Any) -> None:
    from playwright.sync_api import expect

    shop.wait_for(lambda: any((s.get("restartCount") or 0) >= 1 for p in pods(shop, "api-")
                              for s in (p.get("status") or {}).get("containerStatuses") or []),
                  what="api's container restarted once")
    sign_in(page, dashboard, "/ui/apps/shop")
    panel = open_node(page, "Pod", "api-", "Logs")
    expect(panel.locator("#log-container")).to_have_value("api")
    expect(panel.locator("#log-text")).to_contain_text("Error: api exited with code 1")
    panel.get_by_label("Previous container").check()
    expect(panel.locator("#log-text")).to_contain_text("Error: api exited with code 1")

    page.locator("#panel-close").click()
    panel = open_node(page, "Pod", "web-", "Logs")
    panel.get_by_label("Follow").check()
    expect(panel.locator("#log-text")).to_contain_text("tick", timeout=15_000)


def test_restart_from_a_nodes_menu_restarts_the_deployment(shop: System, dashboard: Dashboard, page: Any) -> None:
    from playwright.sync_api import expect

    sign_in(page, dashboard, "/ui/apps/shop")
    web = node(page, "Deployment", "web")
    web.get_by_role("button", name="Actions of Deployment web").click()
    page.get_by_role("menuitem", name="restart").click()

    shop.wait_for(lambda: "kubectl.kubernetes.io/restartedAt" in (
        shop.cluster.get("apps/v1", "Deployment", "shop", "web")["spec"]["template"]["metadata"].get("annotations")
        or {}), what="the restart annotation")
    expect(page.locator("#notice")).to_contain_text("restart of Deployment web: done")


def test_read_only_user_sees_no_action_menus_and_the_server_refuses_the_action(
        shop: System, dashboard: Dashboard, page: Any) -> None:
    from playwright.sync_api import expect

    sign_in(page, dashboard, "/ui/apps/shop", token=READONLY_TOKEN)
    expect(node(page, "Pod", "web-").first).to_be_visible()
    expect(page.locator(".node-menu")).to_have_count(0)
    expect(page.locator(".node-select")).to_have_count(0)
    expect(page.locator("#actions")).to_have_count(0)
    body = {"group": "apps", "kind": "Deployment", "namespace": "shop", "resourceName": "web", "action": "restart"}
    refused = httpx.post(f"{dashboard.url}/api/v1/applications/shop/resource/actions", json=body,
                         headers={"Authorization": f"Bearer {READONLY_TOKEN}"}, trust_env=False, timeout=30)
    assert refused.status_code == 403
    assert "action/apps/Deployment/restart" in refused.json()["error"]


def test_an_orphaned_configmap_is_listed_on_the_app_page(shop: System, dashboard: Dashboard, page: Any) -> None:
    from playwright.sync_api import expect

    shop.cluster.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "by-hand", "namespace": "shop"},
                         "data": {"a": "1"}})
    shop.cluster.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ignored", "namespace": "shop"}})
    sign_in(page, dashboard, "/ui/apps/shop")
    orphan = page.locator("#orphans tr[data-orphan='ConfigMap/by-hand']")
    expect(orphan).to_be_visible()
    expect(orphan).to_contain_text("shop")
    expect(page.locator("#orphans tbody tr")).to_have_count(1)  # the ignored Secret is not listed


def test_selective_sync_syncs_only_the_checked_resource(shop: System, dashboard: Dashboard, page: Any) -> None:
    from playwright.sync_api import expect

    scale_by_hand(shop, "web", 3)
    scale_by_hand(shop, "api", 2)
    shop.next_poll("shop")
    shop.wait_for(lambda: sum(r.get("status") == "OutOfSync" for r in shop.status("shop").get("resources", [])) == 2,
                  what="both Deployments OutOfSync")
    sign_in(page, dashboard, "/ui/apps/shop")
    node(page, "Deployment", "web").get_by_label("Select Deployment web for sync").check()
    page.get_by_role("button", name="Sync selected (1)").click()

    shop.wait_for(lambda: replicas(shop, "web") == 1, what="web synced back to 1 replica")
    wait_operation_end(shop, "shop")
    assert replicas(shop, "api") == 2, "a resource that was not chosen was synced"
    expect(node(page, "Deployment", "web")).to_have_attribute("data-sync", "Synced", timeout=30_000)
    expect(node(page, "Deployment", "api")).to_have_attribute("data-sync", "OutOfSync")


def test_a_change_reaches_the_open_page_by_server_sent_events_without_a_reload(
        shop: System, dashboard: Dashboard, page: Any) -> None:
    from playwright.sync_api import expect

    sign_in(page, dashboard, "/ui/apps/shop")
    page.wait_for_selector("body[data-live=true]")
    page.evaluate("window.__sameDocument = true")
    expect(node(page, "Deployment", "web")).to_have_attribute("data-sync", "Synced")

    scale_by_hand(shop, "web", 2)  # the watcher-less system: the next poll sees it
    shop.next_poll("shop")

    expect(node(page, "Deployment", "web")).to_have_attribute("data-sync", "OutOfSync", timeout=30_000)
    expect(page.locator("#app-sync")).to_have_text("OutOfSync")
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"


def test_an_orphaned_deployment_shows_its_assessed_health(shop: System, dashboard: Dashboard, page: Any) -> None:
    import re

    from playwright.sync_api import expect

    shop.cluster.create({"apiVersion": "apps/v1", "kind": "Deployment",
                         "metadata": {"name": "by-hand", "namespace": "shop"},
                         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "by-hand"}},
                                  "template": {"metadata": {"labels": {"app": "by-hand"}},
                                               "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}})
    sign_in(page, dashboard, "/ui/apps/shop")
    orphan = page.locator("#orphans tr[data-orphan='Deployment/by-hand']")
    expect(orphan.locator(".badge")).to_have_text(re.compile("^(Progressing|Healthy)$"))
