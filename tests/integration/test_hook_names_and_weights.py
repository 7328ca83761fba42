"""How hooks are named and ordered in a real sync (Celery workers, Redis, kubesim with its
controllers), written from Argo CD's tests: test/e2e/hook_test.go
(TestAutomaticallyNamingUnnamedHook, TestNamingNonHookResource) and gitops-engine's
pkg/sync/syncwaves (TestWave: `helm.sh/hook-weight` is the wave of any object without
`argocd.argoproj.io/sync-wave`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.sync_helpers import (
    NAMESPACE,
    Timeline,
    app_manifest,
    delete_app,
    job,
    job_done,
    job_exists,
    kubesim_with_controllers,  # noqa: F401 (this module's kubesim: with controllers)
    register_app,
    sync_now,
    wait_operation_end,
)


def pod(name: str | None, annotations: dict[str, str] | None = None) -> str:
    meta: dict[str, Any] = {"namespace": "shop"}
    if name:
        meta["name"] = name
    if annotations:
        meta["annotations"] = annotations
    spec = {"restartPolicy": "Never", "containers": [{"name": "main", "image": "alpine:3.20", "command": ["true"]}]}
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})


@pytest.mark.timeout(90)
def test_an_unnamed_hook_in_two_phases_gets_a_name_per_phase_and_the_sync_succeeds(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory({
        "app/ns.yaml": NAMESPACE,
        "app/pod.yaml": pod("pod"),
        "app/hook.yaml": pod(None, {"argocd.argoproj.io/hook": "PreSync,PostSync"}),
    })
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    op = wait_operation_end(system, "shop", timeout=60)
    assert op["phase"] == "Succeeded", op["message"]
    names = {hook["phase"]: hook["name"] for hook in op["hooks"]}
    assert set(names) == {"PreSync", "PostSync"}
    assert "presync" in names["PreSync"] and "postsync" in names["PostSync"]
    assert names["PreSync"] != names["PostSync"]
    assert all(hook["status"] == "Succeeded" for hook in op["hooks"]), op["hooks"]
    live = {p["metadata"]["name"] for p in system.cluster.list("v1", "Pod", namespace="shop")}
    assert {"pod", names["PreSync"], names["PostSync"]} <= live
    system.next_poll("shop")
    system.wait_for(lambda: system.status("shop").get("sync", {}).get("status") == "Synced", what="shop Synced")


@pytest.mark.timeout(90)
def test_an_unnamed_hook_runs_again_under_a_new_name_at_the_next_sync(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory({"app/ns.yaml": NAMESPACE, "app/hook.yaml": pod(None, {"argocd.argoproj.io/hook": "Sync"})})
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    first = wait_operation_end(system, "shop", timeout=60)
    assert first["phase"] == "Succeeded", first["message"]
    sync_now(system, "shop")
    second = wait_operation_end(system, "shop", timeout=60, after=first["id"])
    assert second["phase"] == "Succeeded", second["message"]
    [before], [after] = first["hooks"], second["hooks"]
    assert before["name"].startswith("shop-") and after["name"].startswith("shop-")
    assert before["name"] != after["name"]


@pytest.mark.timeout(60)
def test_an_unnamed_object_that_is_not_a_hook_still_fails_naming_it(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory({"app/ns.yaml": NAMESPACE, "app/pod.yaml": pod(None)})
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    op = wait_operation_end(system, "shop")
    assert op["phase"] == "Failed"
    assert "has no metadata.name" in op["message"]


@pytest.mark.timeout(120)
def test_argo_cd_hooks_without_a_sync_wave_run_in_helm_hook_weight_order(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    # Names in the reverse of the weights' order: only the weight can put "a-last" last.
    repo = git_repo_factory({
        "app/ns.yaml": NAMESPACE,
        "app/a.yaml": job("a-last", hook="PreSync", annotations={"helm.sh/hook-weight": "5"}),
        "app/z.yaml": job("z-first", hook="PreSync", annotations={"helm.sh/hook-weight": "-5"}),
    })
    register_app(system, app_manifest("shop", repo))
    with Timeline(system, {
        "z-first done": job_done("z-first"),
        "a-last created": job_exists("a-last"),
    }) as timeline:
        sync_now(system, "shop")
        op = wait_operation_end(system, "shop", timeout=60)
    assert op["phase"] == "Succeeded", op["message"]
    assert {h["name"]: h["wave"] for h in op["hooks"]} == {"z-first": -5, "a-last": 5}
    assert timeline.first["z-first done"] < timeline.first["a-last created"]


@pytest.mark.timeout(90)
def test_an_unnamed_post_delete_hook_is_named_run_and_awaited_at_a_cascade_delete(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    system.cluster.apply(json.loads(NAMESPACE))
    unnamed = pod(None, {"argocd.argoproj.io/hook": "PostDelete"})
    repo = git_repo_factory({"app/pod.yaml": pod("pod"), "app/hook.yaml": unnamed})
    register_app(system, app_manifest("shop", repo))
    sync_now(system, "shop")
    assert wait_operation_end(system, "shop", timeout=60)["phase"] == "Succeeded"
    result = delete_app(system, "shop")
    assert not result.failed, result.failed
    [outcome] = result.post_delete_hooks
    assert outcome.startswith("PostDelete hook Pod shop/shop-") and "-postdelete: Succeeded" in outcome, outcome
