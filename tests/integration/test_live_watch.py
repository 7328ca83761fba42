"""The watcher's live state (reconciler/live, issue 14): drift healed through the watch with
polls an hour apart, and polls where nothing changed making no Kubernetes API request. Real
Redis, Celery worker threads, git and kubesim; the watcher runs in a thread."""

from __future__ import annotations

import time
from typing import Any

import pytest

from reconciler.control.catalog import register
from reconciler.engine.cluster import Cluster
from reconciler.model import parse_manifests
from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.live_fixtures import RunningWatcher

APP = "live"
FILES = {
    "app/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: live-settings\ndata:\n  mode: blue\n",
    "app/other.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: live-other\ndata:\n  size: \"3\"\n",
}


def application(repo: GitRepo, self_heal: bool = True) -> str:
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        f"metadata:\n  name: {APP}\n  namespace: argocd\n"
        "spec:\n  project: default\n"
        f"  source:\n    repoURL: {repo.url}\n    targetRevision: main\n    path: app\n"
        "  destination:\n    server: https://kubernetes.default.svc\n    namespace: default\n"
        f"  syncPolicy:\n    automated:\n      prune: true\n      selfHeal: {'true' if self_heal else 'false'}\n"
    )


def synced_from_watch(system: System) -> dict[str, Any] | None:
    status = system.status(APP)
    ok = status.get("sync", {}).get("status") == "Synced" and len(status.get("verified") or {}) == 2
    return status if ok and status.get("liveState") == "watch" else None


def first_sync(system: System, repo: GitRepo) -> None:
    register(system.store, parse_manifests(application(repo)), first_poll_in=0)
    system.wait_for(lambda: synced_from_watch(system), timeout=60, what="Synced, verified, from the watch")


def mode(system: System) -> str:
    obj = system.cluster.get("v1", "ConfigMap", "default", "live-settings")
    return str(((obj or {}).get("data") or {}).get("mode", "<gone>"))


@pytest.mark.timeout(120)
def test_hand_edit_is_healed_through_the_watch_with_polls_an_hour_apart(
    system: System, git_repo_factory: Any, watcher: RunningWatcher
) -> None:
    first_sync(system, git_repo_factory(FILES, name="live-config"))
    hand = Cluster(system.cluster.api_client, field_manager="kubectl-edit")
    hand.apply({"apiVersion": "v1", "kind": "ConfigMap", "data": {"mode": "green"},
                "metadata": {"name": "live-settings", "namespace": "default"}})
    assert mode(system) == "green"

    system.wait_for(lambda: mode(system) == "blue", timeout=20, what="the edit reverted by self-heal")

    hand.delete("v1", "ConfigMap", "default", "live-other")
    system.wait_for(lambda: system.cluster.get("v1", "ConfigMap", "default", "live-other"), timeout=20,
                    what="the deleted ConfigMap re-created by self-heal")


@pytest.mark.timeout(120)
def test_poll_with_nothing_changed_makes_no_kubernetes_request(
    system: System, git_repo_factory: Any, watcher: RunningWatcher
) -> None:
    first_sync(system, git_repo_factory(FILES, name="live-config"))
    before = system.status(APP)["observedAt"]
    system.kubesim.api.clear_log()

    system.next_poll(APP)
    status = system.wait_for(lambda: (s := system.status(APP)).get("observedAt", 0) > before and s,
                             what="the next poll")

    requests = [e for e in system.kubesim.api.requests() if e["verb"] not in ("watch", "discovery")]
    assert requests == []
    assert status["liveState"] == "watch"
    assert status["sync"]["status"] == "Synced" and status["renderCacheHit"] is True


@pytest.mark.timeout(120)
def test_a_write_to_fields_not_ours_costs_the_poll_it_queues_no_request(
    system: System, git_repo_factory: Any, watcher: RunningWatcher
) -> None:
    """A controller annotating an object it does not own (a Deployment's revision, a finalizer)
    changes none of the fields this system's apply owns: the poll the watcher queues for it asks
    the server nothing."""
    first_sync(system, git_repo_factory(FILES, name="live-config"))
    system.kubesim.api.clear_log()
    patched_at = time.time()
    controller = Cluster(system.cluster.api_client, field_manager="some-controller")
    target = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "live-settings", "namespace": "default"}}
    annotation = {"metadata": {"annotations": {"example.com/revision": "2"}}}
    controller.patch(target, annotation, "application/merge-patch+json")

    status = system.wait_for(lambda: (s := system.status(APP)).get("observedAt", 0) > patched_at and s,
                             what="the poll the watcher queued for the change")

    asked = [e for e in system.kubesim.api.requests()
             if e["verb"] not in ("watch", "discovery") and e["query"].find("fieldManager=some-controller") < 0]
    assert asked == []
    assert status["liveState"] == "watch" and status["dryRuns"] == 0
    assert status["sync"]["status"] == "Synced"


@pytest.mark.timeout(120)
def test_poll_lists_the_cluster_and_says_why_when_no_watcher_runs(system: System, git_repo_factory: Any) -> None:
    register(system.store, parse_manifests(application(git_repo_factory(FILES, name="live-config"))),
             first_poll_in=0)
    status = system.wait_for(lambda: (s := system.status(APP)).get("sync", {}).get("status") == "Synced" and s,
                             timeout=60, what="Synced")
    assert status["liveState"].startswith("list: no watcher holds this cluster")


@pytest.mark.timeout(120)
def test_sync_reads_the_live_state_from_the_watch_and_still_prunes(
    system: System, git_repo_factory: Any, watcher: RunningWatcher
) -> None:
    repo = git_repo_factory(FILES, name="live-config")
    first_sync(system, repo)
    system.kubesim.api.clear_log()
    repo.remove("app/other.yaml")
    repo.commit({"app/settings.yaml": FILES["app/settings.yaml"].replace("blue", "red")}, message="red, no other")

    system.next_poll(APP)
    system.wait_for(lambda: mode(system) == "red" and system.cluster.get("v1", "ConfigMap", "default", "live-other")
                    is None, timeout=30, what="the change applied and live-other pruned")

    lists = [e for e in system.kubesim.api.requests() if e["method"] == "GET" and "labelSelector" in e["query"]]
    assert lists == []  # neither the poll nor the sync listed the cluster
