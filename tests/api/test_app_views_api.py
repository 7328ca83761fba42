"""The views of one app over real HTTP, against the running system (workers, Redis, kubesim with
its controllers): the resource tree with what controllers made under the app's objects,
orphaned resources, Events, container logs, resource actions with their RBAC, one resource's
manifests and why it differs, the paged list, and server-sent events after a status write."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.conftest import READONLY_TOKEN, Api
from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.sync_helpers import (  # noqa: F401 (the kubesim fixture with controllers)
    NAMESPACE,
    app_manifest,
    kubesim_with_controllers,
    register_app,
    sync_now,
    wait_operation_end,
)

APP = "/api/v1/applications/shop"
PROJECT = json.dumps({
    "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": "watched", "namespace": "argocd"},
    "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
             "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
             "orphanedResources": {"warn": True, "ignore": [{"kind": "Secret"}]}},
})


def deployment(name: str, image: str) -> str:
    labels = {"app": name}
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": name, "image": image}]}}},
    })


@pytest.fixture
def synced_shop(system: System, git_repo_factory: Callable[..., GitRepo]) -> System:
    repo = git_repo_factory(files={"app/ns.yaml": NAMESPACE, "app/web.yaml": deployment("web", "nginx:1.25"),
                                   "app/api.yaml": deployment("api", "example.com/crashloop-api:1")})
    register_app(system, PROJECT)
    register_app(system, app_manifest("shop", repo, project="watched"))
    system.wait_for(lambda: system.status("shop"), what="the first poll")
    sync_now(system, "shop")
    wait_operation_end(system, "shop")
    # Running, not only created: a container still being created has no logs to read or follow yet.
    system.wait_for(lambda: any(p["metadata"]["name"].startswith("web-") and (p.get("status") or {}).get("phase")
                                == "Running" for p in system.cluster.list("v1", "Pod", namespace="shop")),
                    what="web's pod running")
    return system


def _node(tree: dict[str, Any], kind: str, prefix: str) -> dict[str, Any]:
    return next(n for n in tree["nodes"] if n["kind"] == kind and n["name"].startswith(prefix))


def test_tree_shows_deployment_replicaset_and_pod_with_sync_and_parents(
        synced_shop: System, serve_api: Callable[..., Api]) -> None:
    with serve_api().client() as http:
        tree = synced_shop.wait_for(lambda: _tree_with_pods(http), what="a tree with pods")
    web = _node(tree, "Deployment", "web")
    assert web["sync"] == "Synced" and web["uid"] and web["group"] == "apps" and web["version"] == "v1"
    replica_set = _node(tree, "ReplicaSet", "web-")
    assert replica_set["parentRefs"][0]["uid"] == web["uid"] and replica_set["sync"] == ""
    pod = _node(tree, "Pod", "web-")
    assert pod["parentRefs"][0]["uid"] == replica_set["uid"]
    assert pod["images"] == ["nginx:1.25"]
    crashing = _node(tree, "Pod", "api-")
    assert {"name": "Status Reason", "value": "CrashLoopBackOff"} in crashing["info"] or crashing["health"]["status"]


def _tree_with_pods(http: httpx.Client) -> dict[str, Any] | None:
    tree = http.get(f"{APP}/resource-tree").json()
    kinds = {n["kind"] for n in tree.get("nodes", [])}
    return tree if {"Deployment", "ReplicaSet", "Pod"} <= kinds else None


def test_an_orphaned_configmap_is_listed_counted_and_warned_about(
        synced_shop: System, serve_api: Callable[..., Api]) -> None:
    synced_shop.cluster.create({"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "by-hand", "namespace": "shop"}, "data": {"a": "1"}})
    synced_shop.cluster.create({"apiVersion": "v1", "kind": "Secret",
                                "metadata": {"name": "ignored", "namespace": "shop"}, "data": {}})
    with serve_api().client() as http:
        orphans = http.get(f"{APP}/resource-tree").json()["orphanedNodes"]
        assert [(n["kind"], n["name"]) for n in orphans] == [("ConfigMap", "by-hand")]
        assert orphans[0]["health"]["status"] == "Healthy"  # assessed, not left Unknown
        synced_shop.next_poll("shop")
        status = synced_shop.wait_for(lambda: (s := synced_shop.status("shop")).get("orphanedResourcesCount") == 1
                                      and s, what="a poll counting the orphan")
        assert {"type": "OrphanedResourceWarning", "message": "Application has 1 orphaned resources"} in \
            status["conditions"]
        metrics = http.get("/metrics").text
    assert 'reconciler_app_orphaned_resources_count{app="shop"} 1.0' in metrics


def test_logs_of_a_crash_looping_deployment_say_why_each_pod_exits(
        synced_shop: System, serve_api: Callable[..., Api]) -> None:
    with serve_api().client(token=READONLY_TOKEN) as http:  # role:readonly may get logs (Argo CD's builtin)
        text = synced_shop.wait_for(
            lambda: (r := http.get(f"{APP}/logs", params={"kind": "Deployment", "resourceName": "api",
                                                          "namespace": "shop"})).status_code == 200 and r.text,
            what="logs of api's pod")
        line = text.splitlines()[-1]
        assert line.startswith("[pod/api-") and "Error: api exited with code 1" in line
        outside = http.get(f"{APP}/logs", params={"podName": "kube-apiserver", "namespace": "kube-system"})
    assert outside.status_code == 404 and "not part of application 'shop'" in outside.json()["error"]


def test_events_of_a_deployment_include_those_of_its_pods(synced_shop: System, serve_api: Callable[..., Api]) -> None:
    with serve_api().client() as http:
        items = synced_shop.wait_for(
            lambda: [e for e in http.get(f"{APP}/events", params={"resourceNamespace": "shop",
                                                                  "resourceName": "web"}).json()["items"]
                     if e["involvedObject"]["kind"] == "Pod"], what="events of web's pods")
    assert all(e["involvedObject"]["name"].startswith("web-") for e in items)


def test_restart_action_runs_for_admins_and_is_refused_to_read_only_callers(
        synced_shop: System, serve_api: Callable[..., Api]) -> None:
    api = serve_api()
    target = {"group": "apps", "kind": "Deployment", "namespace": "shop", "resourceName": "web"}
    with api.client(token=READONLY_TOKEN) as readonly:
        offered = readonly.get(f"{APP}/resource/actions", params=target).json()["actions"]
        assert {"name": "restart", "disabled": False} in offered
        refused = readonly.post(f"{APP}/resource/actions", json={**target, "action": "restart"})
    assert refused.status_code == 403
    assert "action/apps/Deployment/restart" in refused.json()["error"]
    with api.client() as http:
        answer = http.post(f"{APP}/resource/actions", json={**target, "action": "restart"})
    assert answer.status_code == 200, answer.text
    assert "kubectl.kubernetes.io/restartedAt" in answer.json()["spec"]["template"]["metadata"]["annotations"]
    live = synced_shop.cluster.get("apps/v1", "Deployment", "shop", "web")
    managers = {m["manager"] for m in live["metadata"]["managedFields"]}
    assert synced_shop.cluster.field_manager in managers


def test_resource_shows_manifests_diff_and_who_changed_a_field(
        synced_shop: System, serve_api: Callable[..., Api]) -> None:
    from reconciler.engine.cluster import Cluster

    Cluster(synced_shop.cluster.api_client, field_manager="kubectl-scale").patch(
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}},
        {"spec": {"replicas": 3}}, "application/merge-patch+json")
    with serve_api().client() as http:
        body = http.get(f"{APP}/resource", params={"group": "apps", "kind": "Deployment", "namespace": "shop",
                                                    "resourceName": "web", "version": "v1"}).json()
    assert body["desiredManifest"]["spec"]["replicas"] == 1 and body["liveManifest"]["spec"]["replicas"] == 3
    assert "replicas" in body["diff"]
    assert {"path": "spec.replicas", "live": 3, "desired": 1, "reason": "owned by manager kubectl-scale"} in body["why"]


def test_list_pages_with_total_and_continue_headers_only_when_asked(
        system: System, serve_api: Callable[..., Api], git_repo_factory: Callable[..., GitRepo]) -> None:
    repo = git_repo_factory()
    for name in ("a1", "a2", "a3"):
        register_app(system, app_manifest(name, repo))
    with serve_api().client() as http:
        whole = http.get("/api/v1/applications")
        first = http.get("/api/v1/applications", params={"limit": 2, "sort": "-name"})
        rest = http.get("/api/v1/applications", params={"limit": 2, "sort": "-name",
                                                        "continue": first.headers["X-Continue"]})
        bad = http.get("/api/v1/applications", params={"sort": "colour"})
    assert "X-Total-Count" not in whole.headers and [r["name"] for r in whole.json()] == ["a1", "a2", "a3"]
    assert [r["name"] for r in first.json()] == ["a3", "a2"] and first.headers["X-Total-Count"] == "3"
    assert [r["name"] for r in rest.json()] == ["a1"] and "X-Continue" not in rest.headers
    assert bad.status_code == 400 and "sort" in bad.json()["error"]


def test_a_status_write_reaches_an_open_event_stream(system: System, serve_api: Callable[..., Api],
                                                     git_repo_factory: Callable[..., GitRepo]) -> None:
    register_app(system, app_manifest("streamed", git_repo_factory()))
    api = serve_api()
    received: list[dict[str, Any]] = []
    opened = threading.Event()

    def listen() -> None:
        with api.client() as http, http.stream("GET", "/api/v1/stream/applications/streamed") as stream:
            event = ""
            for line in stream.iter_lines():
                if line.startswith(": subscribed"):
                    opened.set()
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                if line.startswith("data:") and event == "status":
                    received.append(json.loads(line.split(":", 1)[1]))
                    if received[-1]["summary"]["health"] == "Degraded":  # (a worker's poll may come first)
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert opened.wait(10), "the stream did not open"
    api.services.store.write_status("streamed", {"sync": {"status": "OutOfSync", "revision": "abc"},
                                                 "health": {"status": "Degraded"}, "resources": [],
                                                 "conditions": []})
    listener.join(15)
    assert received, "no status event arrived"
    assert received[-1]["app"] == "streamed" and received[-1]["summary"]["health"] == "Degraded"


def test_logs_are_refused_to_a_caller_the_policy_denies_logs_get(
        synced_shop: System, serve_api: Callable[..., Api], tmp_path: Any) -> None:
    policy = tmp_path / "argocd-rbac-cm.yaml"
    policy.write_text(json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-rbac-cm"},
                                  "data": {"policy.csv": "p, role:readonly, logs, get, */*, deny\n"}}))
    with serve_api(rbac_file=str(policy)).client(token=READONLY_TOKEN) as http:
        tree = http.get(f"{APP}/resource-tree")
        logs = http.get(f"{APP}/logs", params={"kind": "Deployment", "resourceName": "web", "namespace": "shop"})
        followed = http.get(f"{APP}/logs", params={"kind": "Deployment", "resourceName": "web", "namespace": "shop",
                                                    "follow": "true"})
    assert tree.status_code == 200
    assert logs.status_code == 403 and "logs, get" in logs.json()["error"]
    assert followed.status_code == 403


def test_followed_logs_are_relayed_by_a_worker_when_the_api_has_no_cluster_access(
        synced_shop: System, serve_api: Callable[..., Api]) -> None:
    api = serve_api(api_cluster_access="workers")
    params = {"kind": "Deployment", "resourceName": "web", "namespace": "shop", "follow": "true"}
    lines: list[str] = []
    with api.client() as http, http.stream("GET", f"{APP}/logs", params=params) as stream:
        assert stream.status_code == 200
        for line in stream.iter_lines():
            if line.startswith("data:"):
                lines.append(line.split(":", 1)[1].strip())
                if "web is ready" in lines[-1]:
                    break
    assert lines[0].startswith("[pod/web-") and "Starting web" in lines[0]
    synced_shop.wait_for(lambda: not list(api.services.store.r.scan_iter("rc:log-follow-wanted:*")),
                         what="the worker told to stop once the client went")


def test_selective_sync_takes_argo_cds_object_form_of_resources(
        synced_shop: System, serve_api: Callable[..., Api]) -> None:
    chosen = {"group": "apps", "kind": "Deployment", "namespace": "shop", "name": "web"}
    with serve_api().client() as http:
        queued = http.post(f"{APP}/sync", json={"resources": [chosen, "/Namespace//shop"]})
        bad = http.post(f"{APP}/sync", json={"resources": [{**chosen, "name": "a/b"}]})
        incomplete = http.post(f"{APP}/sync", json={"resources": [{"group": "apps", "name": "web"}]})
    assert queued.status_code == 202, queued.text
    assert queued.json()["request"]["resources"] == ["apps/Deployment/shop/web", "/Namespace//shop"]
    assert bad.status_code == 400 and "contains '/'" in bad.json()["error"]
    assert incomplete.status_code == 400 and "kind" in incomplete.text


def test_cli_follows_logs_through_an_api_without_cluster_access(
        synced_shop: System, serve_api: Callable[..., Api]) -> None:
    import os
    import subprocess
    import sys

    api = serve_api(api_cluster_access="workers")
    env = {**os.environ, "RECONCILER_SERVER": api.url, "RECONCILER_API_TOKEN": READONLY_TOKEN}
    env.pop("REDIS_URL", None)
    follower = subprocess.Popen(
        [sys.executable, "-m", "reconciler.cli", "app", "logs", "shop", "--kind", "Deployment", "--name", "web",
         "--namespace", "shop", "-f"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert follower.stdout is not None
        lines = []
        for line in follower.stdout:
            lines.append(line)
            if "web is ready" in line:
                break
    finally:
        follower.kill()
        follower.wait(10)
    assert any("Starting web" in line for line in lines), lines
