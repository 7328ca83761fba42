"""No spurious self-heal right after a sync (real git, Redis, Celery workers, kubesim).

The demo once recorded a `selfheal` sync 21 ms after the push's auto-sync, at the same revision,
whose only result was CreateNamespace's Namespace: a poll had compared the app while the push's
sync was still applying (so it saw the old Deployment) and decided only after that sync released
its lock, when the revision it saw had just become "the last synced one", so its OutOfSync read
as drift to heal. The self-heal then found every resource Synced and applied only the Namespace
CreateNamespace re-applies at every sync. Argo CD decides automated syncs from a comparison made
after the last operation, and a self-heal with nothing out of sync is no sync at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from reconciler.control.catalog import load_application
from reconciler.control.poll import decide_auto_sync
from reconciler.control.requests import SyncRequest
from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.sync_helpers import app_manifest, config_map, register_app, wait_operation_end


def auto_heal_manifest(repo: GitRepo) -> str:
    text = app_manifest("shop", repo, auto=True, sync_options=["CreateNamespace=true"])
    return text.replace('"automated": {"prune": true}', '"automated": {"prune": true, "selfHeal": true}')


def synced(system: System, repo: GitRepo) -> dict[str, object]:
    register_app(system, auto_heal_manifest(repo))
    system.wait_for(lambda: len(system.store.history("shop")) == 1, what="the first auto-sync")
    return wait_operation_end(system, "shop")


@pytest.mark.timeout(90)
def test_a_comparison_that_began_before_the_last_sync_ended_starts_no_self_heal(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    from workers.tasks import services

    repo = git_repo_factory({"app/cm.yaml": config_map("settings")})
    op = synced(system, repo)
    app = load_application(system.store, "shop")
    # What a poll that compared while the sync was applying holds: OutOfSync at the revision the
    # sync has since recorded, observed before the sync's end.
    status = dict(system.status("shop"))
    status["sync"] = {**status["sync"], "status": "OutOfSync", "revision": repo.head()}
    status["observedAt"] = float(op["finishedAt"]) - 0.05
    assert decide_auto_sync(services(), app, status) is None
    # The same drift seen by a poll that began after the sync is healed, as before.
    status["observedAt"] = time.time()
    decision = decide_auto_sync(services(), app, status)
    assert decision is not None and decision.trigger == "selfheal"


@pytest.mark.timeout(90)
def test_a_self_heal_that_finds_nothing_to_do_is_not_recorded_in_history(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    from workers.tasks import request_sync

    repo = git_repo_factory({"app/cm.yaml": config_map("settings")})
    first = synced(system, repo)
    request_sync(system.store, SyncRequest(app="shop", revision=repo.head(), trigger="selfheal"))
    healed = wait_operation_end(system, "shop", after=first["id"])
    assert healed["phase"] == "Succeeded", healed["message"]
    assert [entry["initiatedBy"] for entry in system.store.history("shop")] == ["auto"]
    # A self-heal that does repair drift is recorded, as any sync.
    system.cluster.delete("v1", "ConfigMap", "shop", "settings")
    request_sync(system.store, SyncRequest(app="shop", revision=repo.head(), trigger="selfheal"))
    wait_operation_end(system, "shop", after=healed["id"])
    assert [entry["initiatedBy"] for entry in system.store.history("shop")] == ["auto", "selfheal"]
