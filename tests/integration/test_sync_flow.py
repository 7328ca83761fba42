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
