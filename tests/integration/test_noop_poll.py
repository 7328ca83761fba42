"""What a poll asks of the cluster when nothing changed (issue 4, "Performance, designed in"):
the cached render, one LIST per kind with the app's label selector, and a dry-run only for
objects whose own fields (those this system's apply owns) moved since they were last verified. Counted from kubesim's
request log, with real Redis, a real Celery worker and real git."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.control.catalog import register
from reconciler.engine.cluster import Cluster
from reconciler.model import parse_manifests
from tests.conftest import GitRepo
from tests.integration.conftest import System

APP = "noop"
FILES = {
    "app/configmaps.yaml": "\n---\n".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: noop-{k}\ndata:\n  index: \"{k}\"\n" for k in "ab"
    ),
    "app/service.yaml": (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: noop-web\n"
        "spec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n"
    ),
}


def application(repo: GitRepo) -> str:
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        f"metadata:\n  name: {APP}\n  namespace: argocd\n"
        "spec:\n  project: default\n"
        f"  source:\n    repoURL: {repo.url}\n    targetRevision: main\n    path: app\n"
        "  destination:\n    server: https://kubernetes.default.svc\n    namespace: default\n"
        "  syncPolicy:\n    automated:\n      prune: true\n"
    )


def synced_and_verified(system: System) -> dict[str, Any] | None:
    """The status of the poll that follows the first sync: Synced, every object verified."""
    status = system.status(APP)
    history = system.store.history(APP)
    if not history or status.get("observedAt", 0) <= history[-1]["deployedAt"]:
        return None
    if status.get("sync", {}).get("status") != "Synced" or len(status.get("verified") or {}) != 3:
        return None
    return status


def poll_once(system: System) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One more poll of the app; its status and the API requests it made (discovery aside:
    the kinds the server serves are re-read on a 60 s timer, not per poll)."""
    before = system.status(APP)["observedAt"]
    system.kubesim.api.clear_log()
    system.next_poll(APP)
    status = system.wait_for(
        lambda: (s := system.status(APP)).get("observedAt", 0) > before and s, what="the next poll"
    )
    requests = [e for e in system.kubesim.api.requests() if e["verb"] != "discovery"]
    return status, requests


def first_sync(system: System, repo: GitRepo) -> None:
    register(system.store, parse_manifests(application(repo)), first_poll_in=0)
    system.wait_for(lambda: synced_and_verified(system), timeout=60, what="Synced and verified after the first sync")


@pytest.mark.timeout(120)
def test_noop_poll_lists_each_kind_once_and_renders_and_dry_runs_nothing(
    system: System, git_repo_factory: Any
) -> None:
    repo = git_repo_factory(FILES, name="noop-config")
    first_sync(system, repo)

    status, requests = poll_once(system)

    assert sorted((e["method"], e["path"]) for e in requests) == [
        ("GET", "/api/v1/configmaps"),
        ("GET", "/api/v1/services"),
    ]
    assert all("labelSelector" in e["query"] for e in requests)
    assert status["dryRuns"] == 0
    assert status["renderCacheHit"] is True
    assert status["sync"]["status"] == "Synced"


@pytest.mark.timeout(120)
def test_a_field_another_manager_adds_costs_no_dry_run(system: System, git_repo_factory: Any) -> None:
    """A label someone else adds is no field of ours: the object's own fields are unchanged since
    the apply that verified it (its managedFields say so), and no dry-run could find drift."""
    repo = git_repo_factory(FILES, name="noop-config")
    first_sync(system, repo)
    hand = Cluster(system.cluster.api_client, field_manager="kubectl-label")
    hand.apply({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "noop-b", "namespace": "default", "labels": {"touched": "by-hand"}}})

    status, requests = poll_once(system)

    assert [e for e in requests if e["method"] == "PATCH"] == []
    assert status["dryRuns"] == 0
    assert status["sync"]["status"] == "Synced"  # a label of another manager is not drift


@pytest.mark.timeout(120)
def test_poll_dry_runs_only_the_object_whose_own_field_moved(system: System, git_repo_factory: Any) -> None:
    repo = git_repo_factory(FILES, name="noop-config")
    first_sync(system, repo)
    hand = Cluster(system.cluster.api_client, field_manager="kubectl-edit")
    live = hand.get("v1", "ConfigMap", "default", "noop-b")
    assert live is not None
    live["data"]["index"] = "edited"
    hand.replace(live, live["metadata"]["resourceVersion"])  # an Update: the field moves to kubectl-edit

    status, requests = poll_once(system)

    dry_runs = [e["path"] for e in requests if e["method"] == "PATCH" and "dryRun" in e["query"]]
    assert dry_runs == ["/api/v1/namespaces/default/configmaps/noop-b"]
    assert [e for e in requests if e["method"] == "PATCH" and "dryRun" not in e["query"]] == []
    assert status["dryRuns"] == 1
    assert status["sync"]["status"] == "OutOfSync"
