"""Resource hooks in a real sync (Celery workers, Redis, kubesim with its controllers: Jobs run
to completion; an image tagged `:broken` fails)."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import GitRepo
from tests.integration.conftest import TEST_REF_CACHE_TTL, System
from tests.integration.sync_helpers import (
    NAMESPACE,
    Timeline,
    app_files,
    app_get_text,
    app_manifest,
    cli_delete,
    config_map,
    delete_app,
    deployment,
    exists,
    healthy_deployment,
    job,
    job_done,
    job_exists,
    jobs,
    kubesim_with_controllers,  # noqa: F401 (this module's kubesim: with controllers)
    register_app,
    sync_now,
    wait_operation_end,
)


@pytest.mark.timeout(90)
def test_presync_job_completes_before_the_sync_phase_and_postsync_runs_after_health(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory(app_files(
        ns=NAMESPACE,
        migrate=job("migrate", hook="PreSync"),
        web=deployment("web"),
        smoke=job("smoke", hook="PostSync", annotations={"argocd.argoproj.io/hook-delete-policy": "HookSucceeded"}),
    ))
    register_app(system, app_manifest("shop", repo))
    with Timeline(system, {
        "migrate done": job_done("migrate"),
        "web created": exists("apps/v1", "Deployment", "shop", "web"),
        "web healthy": healthy_deployment("web"),
        "smoke created": job_exists("smoke"),
    }) as timeline:
        sync_now(system, "shop")
        op = wait_operation_end(system, "shop")
    assert op["phase"] == "Succeeded", op["message"]
    first = timeline.first
    assert first["migrate done"] < first["web created"]
    assert first["web healthy"] < first["smoke created"]
    hooks = {h["name"]: h for h in op["hooks"]}
    assert hooks["migrate"]["phase"] == "PreSync" and hooks["migrate"]["status"] == "Succeeded"
    assert hooks["smoke"]["phase"] == "PostSync" and hooks["smoke"]["status"] == "Succeeded"
    # HookSucceeded: deleted once the operation ended; the default BeforeHookCreation keeps it.
    names = {j["metadata"]["name"] for j in jobs(system)}
    assert "smoke" not in names and "migrate" in names
    # `reconciler app get` lists them with phase and outcome.
    shown = app_get_text(system, "shop")
    assert re.search(r"^PreSync\s+0\s+Job\s+shop\s+migrate\s+Succeeded", shown, re.MULTILINE), shown
    assert re.search(r"^PostSync\s+0\s+Job\s+shop\s+smoke\s+Succeeded", shown, re.MULTILINE), shown
    # Hooks are not the app's resources: the app is Synced, the Jobs are not listed.
    system.next_poll("shop")
    status = system.wait_for(lambda: system.status("shop").get("sync", {}).get("status") == "Synced"
                             and system.status("shop"), what="shop Synced")
    assert not [r for r in status["resources"] if r["kind"] == "Job"]


@pytest.mark.timeout(90)
def test_failing_presync_hook_fails_the_sync_applies_nothing_and_runs_syncfail(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory(app_files(
        ns=NAMESPACE,
        migrate=job("migrate", hook="PreSync", image="busybox:broken"),
        web=deployment("web"),
        cleanup=job("cleanup", hook="SyncFail"),
    ))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    op = wait_operation_end(system, "shop")
    assert op["phase"] == "Failed"
    assert "PreSync hook Job shop/migrate failed" in op["message"]
    assert system.cluster.get("apps/v1", "Deployment", "shop", "web") is None
    hooks = {h["name"]: h for h in op["hooks"]}
    assert hooks["cleanup"]["phase"] == "SyncFail" and hooks["cleanup"]["status"] == "Succeeded"
    # The end writes the operation's state first, then releases the lock: wait for the release.
    system.wait_for(lambda: system.store.lock_holder("shop") is None, what="the app's lock released")


@pytest.mark.timeout(90)
def test_generate_name_hook_twice_makes_two_jobs_and_before_hook_creation_deletes_the_old_one(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory(app_files(ns=NAMESPACE, migrate=job("migrate", hook="PreSync", generate=True),
                                  cm=config_map("settings")))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    first = wait_operation_end(system, "shop")
    assert first["phase"] == "Succeeded", first["message"]
    first_name = first["hooks"][0]["name"]
    assert first_name.startswith("migrate-") and len(first_name) > len("migrate-")
    sync_now(system, "shop")
    second = wait_operation_end(system, "shop", after=first["id"])
    assert second["phase"] == "Succeeded", second["message"]
    second_name = second["hooks"][0]["name"]
    assert second_name.startswith("migrate-") and second_name != first_name
    system.wait_for(lambda: {j["metadata"]["name"] for j in jobs(system)} == {second_name},
                    what="only the second hook Job left")


@pytest.mark.timeout(90)
def test_sync_hook_at_wave_one_runs_between_waves_zero_and_two(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory(app_files(
        ns=NAMESPACE,
        first=config_map("first", annotations={"argocd.argoproj.io/sync-wave": "0"}),
        between=job("between", hook="Sync", annotations={"argocd.argoproj.io/sync-wave": "1"}),
        last=config_map("last", annotations={"argocd.argoproj.io/sync-wave": "2"}),
    ))
    register_app(system, app_manifest("shop", repo))
    with Timeline(system, {
        "first": exists("v1", "ConfigMap", "shop", "first"),
        "between created": job_exists("between"),
        "between done": job_done("between"),
        "last": exists("v1", "ConfigMap", "shop", "last"),
    }) as timeline:
        sync_now(system, "shop")
        op = wait_operation_end(system, "shop")
    assert op["phase"] == "Succeeded", op["message"]
    t = timeline.first
    assert t["first"] < t["between created"] <= t["between done"] < t["last"]


HELM_CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    "chart/templates/deployment.yaml": deployment("web", namespace="{{ .Release.Namespace }}"),
}


def helm_job(name: str, event: str, weight: str) -> str:
    return job(name, namespace="{{ .Release.Namespace }}", annotations={
        "helm.sh/hook": event, "helm.sh/hook-weight": weight, "helm.sh/hook-delete-policy": "before-hook-creation",
    })


@pytest.mark.timeout(120)
def test_helm_pre_install_hooks_run_by_weight_before_the_release_and_post_install_after(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory({
        **HELM_CHART,
        "chart/templates/ns-hook.yaml": helm_job("second", "pre-install", "5"),
        "chart/templates/first-hook.yaml": helm_job("first", "pre-install,pre-upgrade", "-5"),
        "chart/templates/post.yaml": helm_job("notify", "post-install", "0"),
        "chart/templates/test.yaml": helm_job("check", "test", "0"),
    })
    system.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    register_app(system, app_manifest("shop", repo, path="chart"))
    with Timeline(system, {
        "first done": job_done("first"),
        "second created": job_exists("second"),
        "second done": job_done("second"),
        "web created": exists("apps/v1", "Deployment", "shop", "web"),
        "web healthy": healthy_deployment("web"),
        "notify created": job_exists("notify"),
    }) as timeline:
        sync_now(system, "shop")
        op = wait_operation_end(system, "shop", timeout=60)
    assert op["phase"] == "Succeeded", op["message"]
    t = timeline.first
    assert t["first done"] < t["second created"] <= t["second done"] < t["web created"]
    assert t["web healthy"] < t["notify created"]
    phases = {h["name"]: h["phase"] for h in op["hooks"]}
    assert phases == {"first": "PreSync", "second": "PreSync", "notify": "PostSync"}
    assert "check" not in {j["metadata"]["name"] for j in jobs(system)}  # helm test hooks never run


@pytest.mark.timeout(90)
def test_terminate_op_stops_a_running_operation_between_steps(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    from reconciler.control.user_actions import terminate_operation

    repo = git_repo_factory(app_files(
        ns=NAMESPACE,
        # A Deployment whose image never pulls keeps wave 0 unhealthy, so wave 1 waits.
        web=deployment("web").replace("nginx:1.27", "nginx:missing"),
        later=config_map("later", annotations={"argocd.argoproj.io/sync-wave": "1"}),
    ))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    system.wait_for(lambda: "waiting for" in system.operation("shop").get("message", ""), what="the health wait")
    running: dict[str, Any] = system.operation("shop")
    terminate_operation(system.store, "shop")
    op = wait_operation_end(system, "shop")
    assert op["id"] == running["id"]
    assert op["phase"] == "Failed" and "terminated" in op["message"]
    # The end writes the operation's state first, then releases the lock: wait for the release.
    system.wait_for(lambda: system.store.lock_holder("shop") is None, what="the app's lock released")
    assert system.cluster.get("v1", "ConfigMap", "shop", "later") is None


@pytest.mark.timeout(90)
def test_post_delete_hook_runs_after_the_apps_resources_are_deleted_and_is_awaited(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    system.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    repo = git_repo_factory(app_files(
        cm=config_map("settings"),
        cleanup=job("cleanup", hook="PostDelete"),
        notify=job("notify", hook="PostDelete", annotations={"argocd.argoproj.io/hook-delete-policy": "HookSucceeded"}),
    ))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    op = wait_operation_end(system, "shop")
    assert op["phase"] == "Succeeded", op["message"]
    assert not jobs(system)  # a PostDelete hook does not run at sync
    cleanup_created = job_exists("cleanup")
    with Timeline(system, {
        # The Job read first, then the ConfigMap: seen together, the ConfigMap outlived the Job's
        # creation for sure (two separate first-seen times could invert within one pass).
        "cleanup created, settings still there": lambda cluster: cleanup_created(cluster)
        and cluster.get("v1", "ConfigMap", "shop", "settings") is not None,
        "cleanup created": cleanup_created,
    }) as timeline:
        result = delete_app(system, "shop")
    assert not result.failed, result.failed
    assert "cleanup created" in timeline.first
    assert "cleanup created, settings still there" not in timeline.first
    # The delete returned only once both had completed; each outcome is in the result.
    assert len(result.post_delete_hooks) == 2
    assert any(line.startswith("PostDelete hook Job shop/cleanup: Succeeded") for line in result.post_delete_hooks)
    notify = next(line for line in result.post_delete_hooks if "shop/notify" in line)
    assert "Succeeded" in notify and notify.endswith("deleted")
    cleanup = next(line for line in result.post_delete_hooks if "shop/cleanup" in line)
    assert cleanup.endswith("deleted")  # no delete policy: Argo CD's controller deletes it once done
    system.wait_for(lambda: not jobs(system), what="both deleted (in the background)")
    assert system.store.app_manifest("shop") is None


@pytest.mark.timeout(120)
def test_a_failing_post_delete_hook_keeps_the_app_with_a_condition_naming_it(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    from reconciler.control import user_actions
    system.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    repo = git_repo_factory(app_files(cm=config_map("settings"),
                                  cleanup=job("cleanup", hook="PostDelete", image="busybox:broken")))
    register_app(system, app_manifest("shop", repo, auto=True))
    system.wait_for(lambda: system.cluster.get("v1", "ConfigMap", "shop", "settings"), what="the auto-sync")
    wait_operation_end(system, "shop")
    result = delete_app(system, "shop")
    assert result.failed and "PostDelete hook Job shop/cleanup failed" in result.failed[0]
    assert result.post_delete_hooks and "Failed" in result.post_delete_hooks[0]
    assert system.store.app_manifest("shop") is not None  # kept, as Argo CD's finalizer keeps it
    # The CLI says so too, naming the hook, and exits 1.
    again = cli_delete(system, "shop")
    assert again.returncode == 1 and "PostDelete hook Job shop/cleanup failed" in again.stderr
    status = deletion_error_after_a_poll(system, "shop")
    assert "PostDelete hook Job shop/cleanup failed" in status["message"]
    # Its resources are gone on purpose: neither the automated policy nor a user syncs it again.
    assert system.cluster.get("v1", "ConfigMap", "shop", "settings") is None
    with pytest.raises(user_actions.ActionRefused, match="being deleted"):
        user_actions.sync(system.store, "shop")
    # Fixed in git, deleting again runs the hook again (BeforeHookCreation replaces the failed one).
    retry = fixed_and_deleted_again(system, repo, app_files(cleanup=job("cleanup", hook="PostDelete")))
    assert "application 'shop' deleted" in retry.stdout
    assert "PostDelete hook Job shop/cleanup: Succeeded" in retry.stdout
    assert system.store.app_manifest("shop") is None


def deletion_error_after_a_poll(system: System, name: str) -> dict[str, Any]:
    """The DeletionError condition the app's next poll reports (its cascade delete is held)."""
    system.next_poll(name)
    return system.wait_for(
        lambda: next((c for c in system.status(name).get("conditions", []) if c["type"] == "DeletionError"), None),
        what="a DeletionError condition")


def fixed_and_deleted_again(system: System, repo: GitRepo, fixed: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Commit the fixed hook, let the shared `git ls-remote` answer expire, and delete `shop` again."""
    repo.commit(fixed, message="fix the hook")
    time.sleep(TEST_REF_CACHE_TTL * 2)
    retry = cli_delete(system, "shop")
    assert retry.returncode == 0, retry.stderr
    return retry


@pytest.mark.timeout(90)
def test_a_post_delete_hook_still_running_at_the_deadline_keeps_the_app_and_is_awaited_again(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    system.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    repo = git_repo_factory(app_files(cm=config_map("settings"), cleanup=job("cleanup", hook="PostDelete")))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    wait_operation_end(system, "shop")
    result = delete_app(system, "shop", hook_timeout=0.0)
    assert result.failed and "did not complete within 0s" in result.failed[0]
    assert system.store.app_manifest("shop") is not None
    retry = delete_app(system, "shop")
    assert not retry.failed, retry.failed
    assert system.store.app_manifest("shop") is None
    # The first run's Job was awaited (if still running) or run again; either way it completed.
    assert retry.post_delete_hooks[0].startswith("PostDelete hook Job shop/cleanup: Succeeded")


def synced_shop_with_delete_hooks(
    system: System,
    git_repo_factory: Callable[..., GitRepo],
    *,
    backup_image: str = "busybox:1.36",
    cleanup_image: str = "busybox:1.36",
    prune: bool = False,
) -> tuple[GitRepo, dict[str, Any]]:
    """App "shop" (ConfigMap settings, PreDelete Job backup, PostDelete Job cleanup, each hook with
    the image given; `busybox:broken` fails) registered and synced once: its repository and the
    ended sync operation."""
    system.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    repo = git_repo_factory(app_files(
        cm=config_map("settings"),
        backup=job("backup", hook="PreDelete", image=backup_image),
        cleanup=job("cleanup", hook="PostDelete", image=cleanup_image),
    ))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop", prune=prune)
    return repo, wait_operation_end(system, "shop")


@pytest.mark.timeout(90)
def test_a_pre_delete_hook_completes_before_any_resource_is_deleted_and_never_runs_at_a_sync(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    _, op = synced_shop_with_delete_hooks(system, git_repo_factory, prune=True)
    assert op["phase"] == "Succeeded", op["message"]
    assert system.cluster.get("v1", "ConfigMap", "shop", "settings") is not None
    # Argo CD: a PreDelete hook only runs when the whole app is deleted, not at a sync (even pruning).
    assert not jobs(system)
    assert "backup" not in {h["name"] for h in op.get("hooks") or []}
    settings_present = lambda cluster: cluster.get("v1", "ConfigMap", "shop", "settings") is not None  # noqa: E731
    with Timeline(system, {
        "backup created, settings still there": lambda c: job_exists("backup")(c) and settings_present(c),
        "backup done": job_done("backup"),
        "settings gone": lambda c: not settings_present(c),
        "cleanup created": job_exists("cleanup"),
    }) as timeline:
        result = delete_app(system, "shop")
    assert not result.failed, result.failed
    assert "backup created, settings still there" in timeline.first
    assert timeline.first["backup done"] <= timeline.first["settings gone"] <= timeline.first["cleanup created"]
    assert result.resources == ("ConfigMap shop/settings",)
    assert len(result.pre_delete_hooks) == 1
    assert result.pre_delete_hooks[0].startswith("PreDelete hook Job shop/backup: Succeeded")
    assert result.post_delete_hooks[0].startswith("PostDelete hook Job shop/cleanup: Succeeded")
    assert system.store.app_manifest("shop") is None


@pytest.mark.timeout(120)
def test_a_failing_pre_delete_hook_deletes_nothing_and_keeps_the_app_with_a_condition_naming_it(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo, _ = synced_shop_with_delete_hooks(system, git_repo_factory, backup_image="busybox:broken")
    result = delete_app(system, "shop")
    assert result.failed and "PreDelete hook Job shop/backup failed" in result.failed[0]
    assert result.pre_delete_hooks and "Failed" in result.pre_delete_hooks[0]
    # Nothing deleted, no PostDelete hook run, the app kept with its inventory.
    assert result.resources == () and result.post_delete_hooks == ()
    assert system.cluster.get("v1", "ConfigMap", "shop", "settings") is not None
    assert not job_exists("cleanup")(system.cluster)
    assert system.store.app_manifest("shop") is not None and system.store.inventory("shop")
    again = cli_delete(system, "shop")
    assert again.returncode == 1 and "PreDelete hook Job shop/backup failed" in again.stderr
    assert system.cluster.get("v1", "ConfigMap", "shop", "settings") is not None
    condition = deletion_error_after_a_poll(system, "shop")
    assert "PreDelete hook Job shop/backup failed" in condition["message"]
    # Fixed in git, deleting again runs the hook again, then deletes.
    retry = fixed_and_deleted_again(system, repo, app_files(backup=job("backup", hook="PreDelete")))
    assert "PreDelete hook Job shop/backup: Succeeded" in retry.stdout
    assert "PostDelete hook Job shop/cleanup: Succeeded" in retry.stdout
    assert system.cluster.get("v1", "ConfigMap", "shop", "settings") is None
    assert system.store.app_manifest("shop") is None


@pytest.mark.timeout(90)
def test_pre_delete_hooks_that_completed_do_not_run_again_when_a_post_delete_hook_failed(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    synced_shop_with_delete_hooks(system, git_repo_factory, cleanup_image="busybox:broken")
    first = delete_app(system, "shop")
    assert first.pre_delete_hooks[0].startswith("PreDelete hook Job shop/backup: Succeeded")
    assert first.failed and "PostDelete hook Job shop/cleanup failed" in first.failed[0]
    # Completed, without a delete policy: deleted (as Argo CD's controller cleans delete hooks up).
    system.wait_for(lambda: not job_exists("backup")(system.cluster), what="the completed backup hook deleted")
    # As Argo CD (its pre-delete finalizer is gone once they completed), they are not run again.
    second = delete_app(system, "shop")
    assert second.pre_delete_hooks == ("PreDelete hook Job shop/backup: completed in an earlier delete, not run again",)
    assert not job_exists("backup")(system.cluster)
    assert second.failed and "PostDelete hook Job shop/cleanup failed" in second.failed[0]
    assert system.store.app_manifest("shop") is not None
