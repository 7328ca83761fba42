"""A step redelivered after its worker died: it must neither repeat the advance nor lose the
next step, whichever side of the advance the worker died on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.control.sync.drive import run_step
from reconciler.services import Services
from reconciler.settings import Settings


@pytest.fixture
def services(redis_url: str, redis_client: Any, tmp_path: Path) -> Any:
    svc = Services.create(Settings(redis_url=redis_url, data_dir=tmp_path), redis_url)
    yield svc
    svc.close()


def advanced_operation(services: Services) -> None:
    """An operation whose step 0 ran and advanced it to step 1 (a prune step)."""
    steps = [{"type": "apply", "objects": []}, {"type": "prune", "targets": []}, {"type": "finish"}]
    services.store.put_operation("op-1", {"id": "op-1", "app": "shop", "steps": steps, "step": 1}, ttl_seconds=60)


def test_redelivered_step_enqueues_the_next_step_its_worker_may_have_lost(services: Services) -> None:
    advanced_operation(services)
    nexts = run_step(services, "op-1", 0, lock_ttl=30, max_countdown=5, redelivered=True)
    assert [(n.task, n.args) for n in nexts] == [("prune", ("op-1", 1))]
    assert services.store.operation("op-1")["step"] == 1  # not advanced again


def test_duplicate_of_a_step_that_already_ran_does_nothing_when_not_redelivered(services: Services) -> None:
    advanced_operation(services)
    assert run_step(services, "op-1", 0, lock_ttl=30, max_countdown=5) == []


def test_stale_copy_two_steps_behind_does_nothing_even_when_redelivered(services: Services) -> None:
    advanced_operation(services)
    services.store.advance_operation("op-1", 1, {**services.store.operation("op-1"), "step": 2})
    assert run_step(services, "op-1", 0, lock_ttl=30, max_countdown=5, redelivered=True) == []


def test_redelivered_sync_request_resumes_under_its_own_lock(services: Services) -> None:
    from reconciler.control.requests import SyncRequest
    from reconciler.control.sync.start import start_sync

    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "shop"},
        "spec": {
            "source": {"repoURL": "file:///nonexistent/repo", "path": "."},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
        },
    }
    services.store.put_app("shop", manifest)
    # A worker took the lock for task-1, then died before finishing; the message comes back.
    assert services.store.acquire_lock("shop", "task-1", ttl_seconds=30)
    start_sync(services, SyncRequest(app="shop"), lock_ttl=30, op_id="task-1")
    assert services.store.take_pending_sync("shop") is None  # not parked behind itself
    assert services.store.operation_state("shop")["id"] == "task-1"


def test_redelivered_task_resumes_the_steps_it_ran_itself(services: Services) -> None:
    """Steps due at once run in the task that finished the one before (workers/tasks.py); its
    worker dying mid-chain must not leave the operation without a task for its current step."""
    advanced_operation(services)
    services.store.advance_operation("op-1", 1, {**services.store.operation("op-1"), "step": 2, "chainFrom": 0})
    nexts = run_step(services, "op-1", 0, lock_ttl=30, max_countdown=5, redelivered=True)
    assert [(n.task, n.args) for n in nexts] == [("apply", ("op-1", 2))]



def test_redelivered_step_of_an_ended_operation_does_nothing(services: Services) -> None:
    advanced_operation(services)
    services.store.end_operation("op-1", "shop", "Succeeded", ttl_seconds=60)
    assert services.store.operation("op-1")["steps"] == []  # the objects it applied are gone
    for index in (0, 1, 2):
        assert run_step(services, "op-1", index, lock_ttl=30, max_countdown=5, redelivered=True) == []


def test_a_step_whose_operation_lost_its_lock_writes_nothing_and_ends_it_with_error(services: Services) -> None:
    advanced_operation(services)
    # shop's lock expired while the step waited and another operation took it (a lock nobody
    # holds is taken again: the cluster's sync fence then decides whether this one may write)
    assert services.store.acquire_lock("shop", "op-2", 30)
    services.store.put_operation_state("shop", {"id": "op-1", "phase": "Running", "message": "step 1 of 3 done"})
    assert run_step(services, "op-1", 1, lock_ttl=30, max_countdown=5) == []
    state = services.store.operation_state("shop") or {}
    assert state["phase"] == "Error" and "lost its lock" in state["message"]
    assert services.store.operation("op-1")["step"] == 1  # not advanced


def test_a_cascade_delete_of_an_unknown_app_answers_not_found(services: Services) -> None:
    from reconciler.control.sync.delete_start import start_delete
    from reconciler.control.sync.operation import DeleteRequest

    assert start_delete(services, DeleteRequest(app="gone", request_id="del-1"), lock_ttl=30) == []
    assert services.store.wait_reply("del-1", 1) == {"found": False}


def test_a_redelivered_cascade_delete_whose_delete_already_ran_pushes_no_reply(services: Services) -> None:
    """Its own end answers the caller: a "not found" from the copy must not be read first."""
    from reconciler.control.sync.delete_start import start_delete
    from reconciler.control.sync.operation import DeleteRequest
    from reconciler.control.sync.ports import OperationBook
    from reconciler.model.operation import OperationPhase

    # The delete ran: the app is gone, its operation ended (a stub kept for an hour).
    OperationBook(services.store).end("del-2", "shop", OperationPhase.SUCCEEDED, 3600)
    assert start_delete(services, DeleteRequest(app="shop", request_id="del-2"), lock_ttl=30) == []
    assert services.store.wait_reply("del-2", 0.2) is None


def test_a_sync_start_delivered_again_after_its_operation_ended_starts_nothing(services: Services) -> None:
    """A worker that lost Redis before acknowledging the task gets it again: a second run would
    sync the request once more, after (and perhaps backwards from) the syncs since."""
    from reconciler.control.catalog import register
    from reconciler.control.requests import SyncRequest
    from reconciler.control.sync.ports import OperationBook
    from reconciler.control.sync.start import start_sync
    from reconciler.model import parse_manifests
    from reconciler.model.operation import OperationPhase

    register(services.store, parse_manifests(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: shop, namespace: argocd}\n"
        "spec:\n  project: default\n  source: {repoURL: 'https://example.com/r.git', path: app}\n"
        "  destination: {server: 'https://kubernetes.default.svc', namespace: shop}\n", source_file="shop.yaml"))
    OperationBook(services.store).end("op-9", "shop", OperationPhase.SUCCEEDED, 3600)
    request = SyncRequest(app="shop", trigger="user", revision="abc")
    assert start_sync(services, request, lock_ttl=30, op_id="op-9") == []
    assert services.store.operation_state("shop") is None  # no operation started (or failed) again
    assert services.store.lock_holder("shop") is None
