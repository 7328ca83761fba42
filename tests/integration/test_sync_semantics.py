"""Sync semantics as Argo CD has them (gitops-engine's pkg/sync, the application controller, and
their e2e tests), through the public surface: Celery workers, Redis, the CLI, kubesim with its
controllers (Deployments roll out, Jobs complete, an image tagged `:broken` fails, one tagged
`:missing` never starts, a Pod terminates for its grace period)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.sync_helpers import (
    NAMESPACE,
    Timeline,
    app_files,
    app_manifest,
    cli_delete,
    config_map,
    deployment,
    job,
    job_exists,
    kubesim_with_controllers,  # noqa: F401 (this module's kubesim: with controllers)
    register_app,
    sync_now,
    wait_operation_end,
)

WAVE = "argocd.argoproj.io/sync-wave"


def doc(api_version: str, kind: str, name: str, wave: str = "0", **body: Any) -> str:
    meta = {"name": name, "namespace": "shop", "annotations": {WAVE: wave}}
    return json.dumps({"apiVersion": api_version, "kind": kind, "metadata": meta, **body})


def hooks_by_name(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {hook["name"]: hook for hook in op.get("hooks") or []}


def results_of(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["resource"]: result for result in op.get("resources") or []}


def poll_now(system: System, name: str, revision: str) -> dict[str, Any]:
    """The app's status once a poll has compared it with `revision`."""
    system.next_poll(name)
    return system.wait_for(
        lambda: (status := system.status(name)).get("sync", {}).get("revision") == revision and status,
        what=f"{name} compared with {revision[:8]}",
    )


# 1 -------------------------------------------------------------------------------------------


WORKER_POD = doc(
    "v1", "Pod", "worker", wave="1",
    spec={"terminationGracePeriodSeconds": 3, "containers": [{
        "name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"],
        # Still uses its ServiceAccount's token while it shuts down.
        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "sleep 3"]}}}}]},
)
RBAC = {
    "account": doc("v1", "ServiceAccount", "worker"),
    "role": doc("rbac.authorization.k8s.io/v1", "Role", "worker",
                rules=[{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
    "binding": doc("rbac.authorization.k8s.io/v1", "RoleBinding", "worker",
                   roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "worker"},
                   subjects=[{"kind": "ServiceAccount", "name": "worker", "namespace": "shop"}]),
}


@pytest.mark.timeout(120)
def test_prune_deletes_the_last_wave_first_and_waits_until_its_objects_are_gone(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    """gitops-engine: prune waves run in reverse of creation, and the next wave waits while a
    pruned object is still terminating (a Pod in its grace period still needs its RBAC)."""
    repo = git_repo_factory(app_files(ns=NAMESPACE, keep=config_map("keep"), pod=WORKER_POD, **RBAC))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    first = wait_operation_end(system, "shop")
    assert first["phase"] == "Succeeded", first["message"]
    system.wait_for(lambda: (system.cluster.get("v1", "Pod", "shop", "worker") or {}).get("status", {})
                    .get("phase") == "Running", what="the worker Pod running")
    for name in ("pod", *RBAC):
        (repo.path / "app" / f"{name}.yaml").unlink()
    repo.commit(message="retire the worker")

    def gone(api_version: str, kind: str) -> Callable[[Any], bool]:
        return lambda cluster: cluster.get(api_version, kind, "shop", "worker") is None

    with Timeline(system, {
        "pod terminating": lambda c: bool(((c.get("v1", "Pod", "shop", "worker") or {}).get("metadata") or {})
                                          .get("deletionTimestamp")),
        "pod gone": gone("v1", "Pod"),
        "account gone": gone("v1", "ServiceAccount"),
        "role gone": gone("rbac.authorization.k8s.io/v1", "Role"),
        "binding gone": gone("rbac.authorization.k8s.io/v1", "RoleBinding"),
    }) as timeline:
        sync_now(system, "shop", prune=True)
        op = wait_operation_end(system, "shop", after=first["id"], timeout=60)
    assert op["phase"] == "Succeeded", op["message"]
    t = timeline.first
    assert t["pod terminating"] < t["pod gone"]
    for rbac in ("account gone", "role gone", "binding gone"):
        assert t["pod gone"] <= t[rbac], (rbac, t)
    pruned = {r for r, result in results_of(op).items() if result["status"] == "Pruned"}
    assert pruned == {"Pod shop/worker", "ServiceAccount shop/worker", "Role.rbac.authorization.k8s.io shop/worker",
                      "RoleBinding.rbac.authorization.k8s.io shop/worker"}


# 2 -------------------------------------------------------------------------------------------


def stuck_in_wave_zero(git_repo_factory: Callable[..., GitRepo]) -> GitRepo:
    """A Deployment whose image never pulls keeps wave 0 unhealthy, so the sync waits before wave 1."""
    return git_repo_factory(app_files(
        ns=NAMESPACE,
        web=deployment("web").replace("nginx:1.27", "nginx:missing"),
        later=config_map("later", annotations={WAVE: "1"}),
    ))


@pytest.mark.timeout(120)
def test_a_cascade_delete_during_a_sync_waits_until_the_sync_is_terminated(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    """Argo CD defers an app's deletion while its operation runs; terminating it lets the delete go on."""
    from reconciler.control import user_actions

    register_app(system, app_manifest("shop", stuck_in_wave_zero(git_repo_factory)))
    sync_now(system, "shop")
    system.wait_for(lambda: "waiting for" in system.operation("shop").get("message", ""), what="the health wait")
    running = system.operation("shop")
    asked = cli_delete(system, "shop")
    assert asked.returncode == 0, asked.stderr
    assert "is being synced" in asked.stdout and "terminate-op" in asked.stdout
    # Nothing deleted, the sync goes on; no new sync starts on an app being deleted.
    assert system.store.app_manifest("shop") is not None
    assert system.cluster.get("apps/v1", "Deployment", "shop", "web") is not None
    assert system.operation("shop")["id"] == running["id"] and system.operation("shop")["phase"] == "Running"
    with pytest.raises(user_actions.ActionRefused, match="being deleted"):
        user_actions.sync(system.store, "shop")
    user_actions.terminate_operation(system.store, "shop")
    system.wait_for(lambda: system.store.app_manifest("shop") is None, timeout=40, what="the app deleted")
    system.wait_for(lambda: system.cluster.get("apps/v1", "Deployment", "shop", "web") is None,
                    what="its Deployment deleted")


# 3 -------------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_terminate_fails_and_deletes_the_running_hooks_and_keeps_the_completed_ones(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    """gitops-engine Terminate: a running hook is deleted and marked Failed "Terminated"; a
    completed hook keeps its outcome."""
    from reconciler.control.user_actions import terminate_operation

    repo = git_repo_factory(app_files(
        ns=NAMESPACE,
        cm=config_map("settings"),
        quick=job("quick", hook="PreSync", annotations={WAVE: "-1"}),
        stuck=job("stuck", hook="PreSync", image="busybox:missing"),
    ))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    system.wait_for(lambda: "PreSync hook Job shop/stuck" in system.operation("shop").get("message", ""),
                    what="the stuck hook awaited")
    terminate_operation(system.store, "shop")
    op = wait_operation_end(system, "shop")
    assert op["phase"] == "Failed" and "terminated" in op["message"]
    hooks = hooks_by_name(op)
    assert (hooks["stuck"]["status"], hooks["stuck"]["message"]) == ("Failed", "Terminated")
    assert hooks["quick"]["status"] == "Succeeded"
    system.wait_for(lambda: not job_exists("stuck")(system.cluster), what="the stuck hook deleted")
    assert job_exists("quick")(system.cluster)  # BeforeHookCreation: kept until the next sync
    assert system.cluster.get("v1", "ConfigMap", "shop", "settings") is None


# 4 -------------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_every_syncfail_hook_is_awaited_and_each_outcome_recorded(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    """gitops-engine's executeSyncFailPhase starts every SyncFail hook and fails the sync only
    once all completed, naming the SyncFail hooks that failed."""
    repo = git_repo_factory(app_files(
        ns=NAMESPACE,
        migrate=job("migrate", hook="PreSync", image="busybox:broken"),
        alarm=job("alarm", hook="SyncFail", image="busybox:broken"),
        notify=job("notify", hook="SyncFail", annotations={WAVE: "1"}),
    ))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    op = wait_operation_end(system, "shop")
    assert op["phase"] == "Failed"
    hooks = hooks_by_name(op)
    assert hooks["migrate"]["status"] == "Failed"
    assert hooks["alarm"]["status"] == "Failed" and hooks["notify"]["status"] == "Succeeded"
    assert "PreSync hook Job shop/migrate failed" in op["message"]
    assert "SyncFail hook Job shop/alarm failed" in op["message"]
    assert job_exists("notify")(system.cluster) and job_exists("alarm")(system.cluster)


# 5 -------------------------------------------------------------------------------------------


@pytest.mark.timeout(90)
def test_a_sync_completed_by_its_sync_hook_succeeds_with_the_app_still_progressing(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    """A one-step sync waits for its hooks, not for its objects' health (gitops-engine's
    multiStep): the Deployment is left Progressing, the operation Succeeded."""
    repo = git_repo_factory(app_files(
        ns=NAMESPACE,
        web=deployment("web").replace("nginx:1.27", "nginx:missing"),
        smoke=job("smoke", hook="Sync"),
    ))
    system.cluster.apply(json.loads(NAMESPACE))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    op = wait_operation_end(system, "shop", timeout=30)
    assert op["phase"] == "Succeeded", op["message"]
    assert hooks_by_name(op)["smoke"]["status"] == "Succeeded"
    status = poll_now(system, "shop", repo.head())
    assert status["health"]["status"] == "Progressing"


# 6 -------------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_skip_hook_keeps_its_live_object_matched_out_of_sync_status_and_never_pruned(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    """`argocd.argoproj.io/hook: Skip`: not applied, and the live object it names is neither
    Extra nor part of the sync status, so an automated sync with prune leaves it alone."""
    repo = git_repo_factory(app_files(ns=NAMESPACE, keep=config_map("keep"), legacy=config_map("legacy")))
    register_app(system, app_manifest("shop", repo, auto=True))
    first = system.wait_for(lambda: (op := system.operation("shop")).get("phase") == "Succeeded" and op,
                            what="the first automated sync")
    assert system.cluster.get("v1", "ConfigMap", "shop", "legacy") is not None
    skipped = json.loads(config_map("legacy"))
    skipped["metadata"]["annotations"] = {"argocd.argoproj.io/hook": "Skip"}
    head = repo.commit({"app/legacy.yaml": json.dumps(skipped)}, message="skip legacy")
    status = poll_now(system, "shop", head)
    assert status["sync"]["status"] == "Synced", status["resources"]
    assert "legacy" not in {r["name"] for r in status["resources"]}
    # A sync with prune (as the automated one would run) leaves it alone.
    sync_now(system, "shop", prune=True)
    op = wait_operation_end(system, "shop", after=first["id"])
    assert op["phase"] == "Succeeded", op["message"]
    assert "ConfigMap shop/legacy" not in results_of(op)
    assert system.cluster.get("v1", "ConfigMap", "shop", "legacy") is not None
    assert system.operation("shop")["id"] == op["id"]  # no further automated sync: nothing to heal


# 7 -------------------------------------------------------------------------------------------


@pytest.mark.timeout(90)
def test_a_manual_sync_applies_every_resource_even_when_synced(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    """Only ApplyOutOfSyncOnly=true skips Synced resources in a manual sync (Argo CD's e2e
    tests count a resource result for every resource of a re-sync)."""
    repo = git_repo_factory(app_files(ns=NAMESPACE, a=config_map("a"), b=config_map("b")))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    first = wait_operation_end(system, "shop")
    poll_now(system, "shop", repo.head())
    sync_now(system, "shop")
    again = wait_operation_end(system, "shop", after=first["id"])
    assert again["phase"] == "Succeeded", again["message"]
    assert {r for r, result in results_of(again).items() if result["status"] == "Synced"} == {
        "Namespace shop", "ConfigMap shop/a", "ConfigMap shop/b"}


# 8 -------------------------------------------------------------------------------------------


def service(cluster_ip: str) -> str:
    return doc("v1", "Service", "my-service", spec={"clusterIP": cluster_ip, "ports": [{"port": 80}]})


@pytest.mark.timeout(120)
def test_a_failed_apply_is_a_syncfailed_resource_result_with_the_servers_message(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    """Argo CD's TestImmutableChange: changing a Service's clusterIP fails the sync, and the
    Service's result is SyncFailed with the API server's "field is immutable"."""
    repo = git_repo_factory(app_files(ns=NAMESPACE, svc=service("10.96.0.44")))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    first = wait_operation_end(system, "shop")
    assert first["phase"] == "Succeeded", first["message"]
    repo.commit({"app/svc.yaml": service("10.96.0.45")}, message="move the service")
    time.sleep(0.5)  # the shared ls-remote answer expires
    sync_now(system, "shop")
    op = wait_operation_end(system, "shop", after=first["id"])
    assert op["phase"] == "Failed"
    result = results_of(op)["Service shop/my-service"]
    assert result["status"] == "SyncFailed"
    assert "spec.clusterIP" in result["message"] and "immutable" in result["message"], result


# 9 -------------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_delete_hooks_without_a_delete_policy_are_deleted_once_they_completed(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    """Argo CD's controller cleans PreDelete and PostDelete hooks up after they completed when
    they carry no delete policy; one with a policy follows it."""
    system.cluster.apply(json.loads(NAMESPACE))
    repo = git_repo_factory(app_files(
        cm=config_map("settings"),
        backup=job("backup", hook="PreDelete"),
        cleanup=job("cleanup", hook="PostDelete"),
        audit=job("audit", hook="PostDelete",
                  annotations={"argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation"}),
    ))
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    assert wait_operation_end(system, "shop")["phase"] == "Succeeded"
    deleted = cli_delete(system, "shop")
    assert deleted.returncode == 0, deleted.stderr
    assert "PreDelete hook Job shop/backup: Succeeded" in deleted.stdout
    assert system.store.app_manifest("shop") is None
    system.wait_for(lambda: not job_exists("backup")(system.cluster) and not job_exists("cleanup")(system.cluster),
                    what="the hooks without a policy deleted")
    assert job_exists("audit")(system.cluster)
