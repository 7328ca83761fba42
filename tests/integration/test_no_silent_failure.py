"""No silent Unknown and no endless Running: every failure of a poll or a sync becomes a
condition or an ended operation with a one-line cause, and errors are polled again soon."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from reconciler.control.poll import error_retry_wait
from reconciler.control.watchdog import STARTUP_GRACE_SECONDS, end_stalled_operations
from reconciler.state import Store
from tests.integration.conftest import System
from tests.integration.test_sync_flow import configmap, create_app, manual_app, user_sync

GENERATED_CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: settings-\ndata:\n  a: b\n"


def condition_of(system: System, name: str) -> dict[str, Any] | None:
    conditions = system.status(name).get("conditions") or []
    return conditions[0] if conditions else None


@pytest.mark.timeout(60)
def test_poll_of_a_manifest_with_generate_name_ends_with_a_condition_naming_it(
    system: System, git_repo_factory: Any
) -> None:
    repo = git_repo_factory({"app/cm.yaml": configmap("named", "one"), "app/gen.yaml": GENERATED_CONFIGMAP})
    create_app(system, manual_app(repo, "generated", "app"))
    condition = system.wait_for(lambda: condition_of(system, "generated"), what="a condition")
    assert condition["type"] == "ComparisonError"
    assert "generateName 'settings-'" in condition["message"]
    assert system.status("generated")["sync"]["status"] == "Unknown"


@pytest.mark.timeout(60)
def test_manual_sync_of_a_generate_name_manifest_fails_and_applies_nothing(
    system: System, git_repo_factory: Any
) -> None:
    repo = git_repo_factory({"app/cm.yaml": configmap("named", "one"), "app/gen.yaml": GENERATED_CONFIGMAP})
    create_app(system, manual_app(repo, "generated", "app"))
    user_sync(system, "generated")
    final = system.wait_for(
        lambda: (op := system.operation("generated")).get("phase") in ("Failed", "Error") and op,
        what="the sync to end",
    )
    assert "generateName" in final["message"]
    system.wait_for(lambda: system.store.lock_holder("generated") is None, what="the lock to be released")
    assert system.cluster.get("v1", "ConfigMap", "default", "named") is None


@pytest.mark.timeout(60)
def test_a_renderer_that_raises_unexpectedly_is_a_condition_not_a_silent_unknown(
    system: System, git_repo_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.engine import pipeline

    def broken_render(*_args: Any, **_kwargs: Any) -> list[dict[str, Any]]:
        raise ZeroDivisionError("division by zero in a renderer")

    # Our own renderer replaced by a broken one: the worker threads run in this process.
    monkeypatch.setattr(pipeline, "render", broken_render)
    repo = git_repo_factory({"app/cm.yaml": configmap("settings", "one")})
    create_app(system, manual_app(repo, "crashy", "app"))
    condition = system.wait_for(lambda: condition_of(system, "crashy"), what="a condition")
    assert condition["type"] == "ComparisonError"
    assert "unexpected ZeroDivisionError" in condition["message"]
    assert "Traceback" not in condition["message"]


@pytest.mark.timeout(60)
def test_a_sync_step_that_raises_unexpectedly_ends_the_operation_with_error_and_frees_the_lock(
    system: System, git_repo_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.control.sync import steps
    from reconciler.control.sync.operation import StepKind

    def broken_apply(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyError("name")

    monkeypatch.setitem(steps.RUNNERS, StepKind.APPLY, broken_apply)
    repo = git_repo_factory({"app/cm.yaml": configmap("settings", "one")})
    create_app(system, manual_app(repo, "stepcrash", "app"))
    user_sync(system, "stepcrash")
    final = system.wait_for(
        lambda: (op := system.operation("stepcrash")).get("phase") not in (None, "Running") and op,
        what="the operation to end",
    )
    assert final["phase"] == "Error"
    assert "unexpected KeyError" in final["message"]
    system.wait_for(lambda: system.store.lock_holder("stepcrash") is None, what="the lock to be released")


@pytest.mark.timeout(90)
def test_an_app_created_just_before_its_branch_is_pushed_syncs_within_seconds(
    system: System, git_repo_factory: Any
) -> None:
    from workers import tasks

    # The shared ref listing is kept for 10 minutes here, so only a fresh listing finds the branch.
    settings = system.app.conf.reconciler_settings
    system.app.conf.reconciler_settings = dataclasses.replace(settings, git_ref_cache_ttl=600.0)
    tasks.reset_services()
    try:
        repo = git_repo_factory({"app/cm.yaml": configmap("settings", "one")})
        create_app(system, manual_app(repo, "early", "app").replace("targetRevision: HEAD", "targetRevision: feature"))
        condition = system.wait_for(lambda: condition_of(system, "early"), what="revision not found")
        assert 'revision "feature" not found' in condition["message"]
        repo.git("checkout", "-q", "-b", "feature")
        head = repo.commit({"app/cm.yaml": configmap("settings", "two")})
        status = system.wait_for(
            lambda: (s := system.status("early"))["sync"].get("revision") == head and s,
            timeout=30,
            what="the next poll to find the new branch",
        )
        assert not status["conditions"]
    finally:
        system.app.conf.reconciler_settings = settings
        tasks.reset_services()


def test_error_polls_back_off_from_five_seconds_to_the_interval() -> None:
    assert [error_retry_wait(n, 180) for n in range(1, 8)] == [5, 10, 20, 40, 80, 160, 180]


def _running(store: Store, app: str, op_id: str, started: float, **extra: Any) -> None:
    store.put_operation_state(app, {"id": op_id, "phase": "Running", "startedAt": started, "message": "x", **extra})


def test_watchdog_ends_a_running_operation_whose_lock_is_gone(redis_client: Any) -> None:
    store = Store(redis_client)
    store.put_app("lost", {"metadata": {"name": "lost"}})
    _running(store, "lost", "op-1", time.time() - STARTUP_GRACE_SECONDS - 1)
    assert end_stalled_operations(store) == ["lost"]
    state = store.operation_state("lost") or {}
    assert state["phase"] == "Error" and "stopped advancing" in state["message"]


def test_watchdog_leaves_operations_that_hold_their_lock_or_wait_for_a_retry(redis_client: Any) -> None:
    store = Store(redis_client)
    old = time.time() - STARTUP_GRACE_SECONDS - 1
    for app in ("locked", "retrying", "young"):
        store.put_app(app, {"metadata": {"name": app}})
    _running(store, "locked", "op-1", old)
    store.acquire_lock("locked", "op-1", 60)
    _running(store, "retrying", "op-2", old, nextRetryAt=time.time() + 10)
    _running(store, "young", "op-3", time.time())
    assert end_stalled_operations(store) == []
    assert all((store.operation_state(a) or {})["phase"] == "Running" for a in ("locked", "retrying", "young"))


def test_watchdog_hands_on_a_cascade_delete_nothing_runs_and_leaves_one_that_waits_for_a_sync(
    redis_client: Any,
) -> None:
    from reconciler.control.sync.operation import DeleteRequest
    from reconciler.control.watchdog import stalled_deletes

    store = Store(redis_client)
    old = time.time() - STARTUP_GRACE_SECONDS - 1
    asked = {"orphaned": ("d-1", old), "behind-a-sync": ("d-2", old), "just-asked": ("d-3", time.time())}
    for app, (request_id, at) in asked.items():
        store.put_app(app, {"metadata": {"name": app}})
        store.request_delete(app, DeleteRequest(app=app, request_id=request_id, requested_at=at).to_json())
    store.acquire_lock("behind-a-sync", "sync-op", 60)
    assert [request["requestId"] for request in stalled_deletes(store)] == ["d-1"]
