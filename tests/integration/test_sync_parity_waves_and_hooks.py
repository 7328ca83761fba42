"""More of Argo CD's own e2e scenarios (test/e2e/sync_waves_test.go, hook_test.go), through the
public surface on kubesim with its controllers (a Job whose image is tagged `:broken` fails, a
Deployment whose image is tagged `:missing` never becomes ready). Issue 23."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.sync_helpers import (
    NAMESPACE,
    app_files,
    app_manifest,
    config_map,
    deployment,
    job,
    jobs,
    kubesim_with_controllers,  # noqa: F401 (this module's kubesim: with controllers)
    register_app,
    sync_now,
    wait_operation_end,
)

WAVE = "argocd.argoproj.io/sync-wave"
DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"

pytestmark = [pytest.mark.timeout(120)]


def results(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["resource"].rsplit("/", 1)[-1]: result for result in op.get("resources") or []}


def poll_status(system: System, name: str, revision: str) -> dict[str, Any]:
    system.next_poll(name)
    return system.wait_for(
        lambda: (status := system.status(name)).get("sync", {}).get("revision") == revision and status,
        what=f"{name} compared with {revision[:8]}")


def row_once(system: System, app: str, name: str, health: str) -> dict[str, Any]:
    """The app's resource row `name` once a poll saw it with `health` (a poll that began before the
    sync ended may still write what it saw then)."""
    system.next_poll(app)

    def seen() -> dict[str, Any] | None:
        rows = {r["name"]: r for r in system.status(app).get("resources") or []}
        row = rows.get(name)
        return row if row is not None and row.get("health", {}).get("status") == health else None

    return system.wait_for(seen, what=f"{app}'s {name} {health}")


def test_a_wave_whose_object_turns_degraded_fails_the_sync_and_the_next_wave_is_never_applied(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    # sync_waves_test.go TestFixingDegradedApp: cm-1 Degraded in its wave, so the operation
    # fails and cm-2 of the next wave stays Missing (one resource result).
    repo = git_repo_factory(app_files(
        ns=NAMESPACE,
        migrate=job("migrate", image="busybox:broken"),
        later=config_map("later", annotations={WAVE: "1"}),
    ))
    system.cluster.apply(json.loads(NAMESPACE))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    op = wait_operation_end(system, "shop")
    assert op["phase"] == "Failed", op
    assert "migrate" in op["message"] and "Degraded" in op["message"], op["message"]
    assert system.cluster.get("v1", "ConfigMap", "shop", "later") is None
    assert "later" not in results(op)
    assert row_once(system, "shop", "migrate", "Degraded")["status"] == "Synced"
    rows = {r["name"]: r for r in system.status("shop")["resources"]}
    assert rows["later"]["status"] == "Missing"  # Argo CD: OutOfSync with health Missing
    assert system.status("shop")["health"]["status"] == "Degraded"


def test_a_single_wave_deployment_that_never_becomes_ready_syncs_succeeded_and_stays_progressing(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    # sync_waves_test.go TestOneProgressingDeploymentIsSucceededAndSynced: the last wave's health
    # is not awaited; the operation succeeds at once with the app Synced and Progressing.
    repo = git_repo_factory(app_files(web=deployment("web").replace("nginx:1.27", "nginx:missing")))
    system.cluster.apply(json.loads(NAMESPACE))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    op = wait_operation_end(system, "shop", timeout=30)
    assert op["phase"] == "Succeeded", op["message"]
    assert list(results(op)) == ["web"]
    status = poll_status(system, "shop", repo.head())
    assert status["sync"]["status"] == "Synced"
    assert status["health"]["status"] == "Progressing"


@pytest.mark.parametrize(
    ("policy", "image", "phase", "kept"),
    [
        ("HookSucceeded", "busybox:broken", "Failed", True),  # TestHookDeletePolicyHookSucceededHookExit1
        ("HookFailed", "busybox:broken", "Failed", False),  # TestHookDeletePolicyHookFailedHookExit1
        ("HookFailed", "busybox:1.36", "Succeeded", True),  # TestHookDeletePolicyHookFailedHookExit0
    ],
    ids=["hook-succeeded-policy-failed-hook", "hook-failed-policy-failed-hook", "hook-failed-policy-good-hook"],
)
def test_a_hook_is_deleted_only_when_its_outcome_matches_its_delete_policy(
    system: System, git_repo_factory: Callable[..., GitRepo], policy: str, image: str, phase: str, kept: bool
) -> None:
    repo = git_repo_factory(app_files(
        ns=NAMESPACE,
        settings=config_map("settings"),
        check=job("check", hook="PostSync", image=image, annotations={DELETE_POLICY: policy}),
    ))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    op = wait_operation_end(system, "shop")
    assert op["phase"] == phase, op
    assert [h["status"] for h in op["hooks"] if h["name"] == "check"] == [phase]
    names = {j["metadata"]["name"] for j in jobs(system)}
    assert ("check" in names) is kept, names


def test_a_selective_sync_applies_only_what_it_selects_runs_no_hooks_and_leaves_the_app_out_of_sync(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    # selective_sync_test.go TestSelectiveSync and TestSelectiveSyncDoesRunHooks (hooks do not run:
    # gitops-engine's skipHooks() is true for a selective sync).
    from reconciler.control.user_actions import sync
    from workers.tasks import request_sync

    repo = git_repo_factory(app_files(
        a=config_map("a"), b=config_map("b"), migrate=job("migrate", hook="PreSync"),
    ))
    system.cluster.apply(json.loads(NAMESPACE))
    register_app(system, app_manifest("shop", repo))
    request_sync(system.store, sync(system.store, "shop", resources=["/ConfigMap/shop/a"]))
    op = wait_operation_end(system, "shop")
    assert op["phase"] == "Succeeded", op["message"]
    assert list(results(op)) == ["a"]
    assert not op.get("hooks")
    assert system.cluster.get("v1", "ConfigMap", "shop", "a") is not None
    assert system.cluster.get("v1", "ConfigMap", "shop", "b") is None
    assert not [j for j in jobs(system) if j["metadata"]["name"] == "migrate"]
    status = poll_status(system, "shop", repo.head())
    assert status["sync"]["status"] == "OutOfSync"


def test_an_object_marked_prune_false_outlives_its_file_and_keeps_the_app_out_of_sync(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    # app_management_test.go TestSyncOptionPruneFalse: a pruning sync succeeds without deleting it.
    keep = config_map("keep", annotations={"argocd.argoproj.io/sync-options": "Prune=false"})
    repo = git_repo_factory(app_files(keep=keep, other=config_map("other")))
    system.cluster.apply(json.loads(NAMESPACE))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    first = wait_operation_end(system, "shop")
    assert first["phase"] == "Succeeded", first["message"]
    repo.remove("app/keep.yaml")
    head = repo.commit(message="drop keep")
    assert poll_status(system, "shop", head)["sync"]["status"] == "OutOfSync"
    sync_now(system, "shop", prune=True)
    op = wait_operation_end(system, "shop", after=first["id"])
    assert op["phase"] == "Succeeded", op["message"]
    assert system.cluster.get("v1", "ConfigMap", "shop", "keep") is not None
    status = poll_status(system, "shop", head)
    assert status["sync"]["status"] == "OutOfSync"
    assert {r["name"]: r["status"] for r in status["resources"]}["keep"] != "Synced"


def test_a_post_sync_hook_never_runs_when_an_object_of_the_sync_turned_degraded(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    # hook_test.go TestPostSyncHookPodFailure: the failed workload is Synced and Degraded, one
    # resource result, and the PostSync hook is never created.
    repo = git_repo_factory(app_files(
        ns=NAMESPACE,
        worker=job("worker", image="busybox:broken"),
        smoke=job("smoke", hook="PostSync"),
    ))
    system.cluster.apply(json.loads(NAMESPACE))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    op = wait_operation_end(system, "shop")
    assert op["phase"] == "Failed" and "shop/worker is Degraded" in op["message"], op  # Argo CD: not asserted
    assert [h["status"] for h in op.get("hooks") or [] if h["name"] == "smoke"] in ([], ["Pending"])
    assert "smoke" not in {j["metadata"]["name"] for j in jobs(system)}
    assert "worker" in results(op)
    assert row_once(system, "shop", "worker", "Degraded")["status"] == "Synced"
