"""The whole system on real Redis, Celery workers and kubesim: first sync of the seed's
app-of-apps repository, new commits, prune, drift, retries, rollback, locks."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.app import load_file
from reconciler.registry import register
from tests.conftest import GitRepo
from tests.integration.conftest import System


def deployment_image(system: System, name: str, namespace: str = "production") -> str | None:
    live = system.cluster.get("apps/v1", "Deployment", namespace, name)
    if live is None:
        return None
    return str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def register_root(system: System, repo: GitRepo) -> None:
    register(system.store, load_file(repo.path / "argocd" / "root.yaml"), first_poll_in=0)


def synced(system: System, name: str, revision: str) -> dict[str, Any] | None:
    status = system.status(name)
    if status.get("sync", {}).get("status") == "Synced" and status["sync"].get("revision") == revision:
        return status
    return None


@pytest.mark.timeout(120)
def test_first_sync_of_the_seed_app_of_apps_deploys_every_child(system: System, seed_repo: GitRepo) -> None:
    register_root(system, seed_repo)
    system.wait_for(lambda: sorted(system.store.children_of("root")) == ["api", "infrastructure", "worker"],
                    what="child apps registered")
    system.wait_for(lambda: deployment_image(system, "api") == "registry.example.com/api:abc123def",
                    what="api deployed")
    system.wait_for(lambda: system.cluster.get("v1", "ConfigMap", "production", "worker-config"), what="worker")
    system.wait_for(lambda: system.cluster.get("networking.k8s.io/v1", "IngressClass", None, "nginx"),
                    what="infrastructure")
    head = seed_repo.head()
    for name in ("root", "api", "worker", "infrastructure"):
        system.wait_for(lambda n=name: synced(system, n, head), what=f"{name} Synced at {head[:7]}")
    history = system.store.history("api")
    assert [h["revision"] for h in history] == [head]
    assert history[0]["initiatedBy"] == "auto"


def first_sync(system: System, repo: GitRepo) -> str:
    register_root(system, repo)
    head = repo.head()
    for name in ("root", "api", "worker", "infrastructure"):
        system.wait_for(lambda n=name: synced(system, n, head), what=f"{name} Synced at {head[:7]}")
    return head


@pytest.mark.timeout(120)
def test_new_commit_is_synced_on_the_next_poll(system: System, seed_repo: GitRepo) -> None:
    first_sync(system, seed_repo)
    values = (seed_repo.path / "apps/api/values-prod.yaml").read_text().replace("abc123def", "fff999")
    head = seed_repo.commit({"apps/api/values-prod.yaml": values}, message="chore: deploy api@fff999")
    system.next_poll("api")
    system.wait_for(lambda: deployment_image(system, "api") == "registry.example.com/api:fff999", what="new image")
    system.wait_for(lambda: synced(system, "api", head), what="api Synced at the new commit")
    assert [h["revision"] for h in system.store.history("api")][-1] == head


@pytest.mark.timeout(120)
def test_file_removed_from_git_is_pruned(system: System, seed_repo: GitRepo) -> None:
    first_sync(system, seed_repo)
    assert system.cluster.get("v1", "ServiceAccount", "infrastructure", "external-dns") is not None
    seed_repo.remove("infrastructure/external-dns/serviceaccount.yaml")
    head = seed_repo.commit(message="drop external-dns")
    system.next_poll("infrastructure")
    system.wait_for(lambda: synced(system, "infrastructure", head), what="infrastructure Synced after prune")
    assert system.cluster.get("v1", "ServiceAccount", "infrastructure", "external-dns") is None
    assert "/ServiceAccount/infrastructure/external-dns" not in system.store.inventory("infrastructure")


@pytest.mark.timeout(120)
def test_file_removed_from_git_is_kept_when_prune_is_off(system: System, seed_repo: GitRepo) -> None:
    app = (seed_repo.path / "argocd/apps/infrastructure.yaml").read_text().replace("prune: true", "prune: false")
    seed_repo.commit({"argocd/apps/infrastructure.yaml": app}, message="no prune")
    first_sync(system, seed_repo)
    seed_repo.remove("infrastructure/external-dns/serviceaccount.yaml")
    head = seed_repo.commit(message="drop external-dns")
    system.next_poll("infrastructure")
    system.wait_for(lambda: [h["revision"] for h in system.store.history("infrastructure")][-1:] == [head],
                    what="infrastructure synced the new commit")
    system.next_poll("infrastructure")
    status = system.wait_for(
        lambda: (s := system.status("infrastructure")).get("observedAt", 0)
        > system.store.history("infrastructure")[-1]["deployedAt"] and s,
        what="a poll after the sync",
    )
    assert system.cluster.get("v1", "ServiceAccount", "infrastructure", "external-dns") is not None
    extra = [r for r in status["resources"] if r["kind"] == "ServiceAccount"]
    assert extra and extra[0]["status"] == "Extra"
    assert status["sync"]["status"] == "OutOfSync"


@pytest.mark.timeout(120)
def test_manual_change_is_reverted_by_self_heal(system: System, seed_repo: GitRepo) -> None:
    first_sync(system, seed_repo)
    from reconciler.kube import Cluster

    hand = Cluster(system.cluster.api_client, field_manager="kubectl-edit")
    hand.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "production"},
            "spec": {
                "selector": {"matchLabels": {"app.kubernetes.io/name": "api"}},
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": "api"}},
                    "spec": {"containers": [{"name": "api", "image": "registry.example.com/api:hotfix"}]},
                },
            },
        },
        force=True,
    )
    assert deployment_image(system, "api") == "registry.example.com/api:hotfix"
    system.next_poll("api")
    system.wait_for(lambda: deployment_image(system, "api") == "registry.example.com/api:abc123def",
                    what="self-heal to revert the image")
    assert system.store.history("api")[-1]["initiatedBy"] == "selfheal"
