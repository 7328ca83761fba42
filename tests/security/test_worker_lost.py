"""Issue 22, case 3: a task whose worker process is lost every time it runs (the kernel's OOM killer,
a crash in native code) is acknowledged with a condition naming the app after a few starts. Celery
redelivers a task whose worker died (acks_late, reject_on_worker_lost): without a count, such a
poll would be redelivered forever and the app would show nothing.

Real `reconciler worker` and `reconciler beat` processes; the poll of the app reaches a Git server
that never answers, and the test kills the worker's pool process each time the poll connects, as
the OOM killer would."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.control import user_actions as actions
from reconciler.model import parse_manifests
from reconciler.state import Store
from tests.integration.test_worker_failures import Workers, wait_for, worker_env
from tests.security.conftest import LoopbackService

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
def silent_git() -> Iterator[LoopbackService]:
    """A Git server that accepts connections and never answers."""
    server = LoopbackService()
    yield server
    server.close()


def pool_processes(main: int) -> list[int]:
    """The worker's pool processes: the children of its main process."""
    found: list[int] = []
    for task in Path(f"/proc/{main}/task").iterdir():
        try:
            found += [int(pid) for pid in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def test_a_poll_that_loses_its_worker_every_time_ends_with_a_condition_after_three_starts(
    redis_url: str, redis_client: Any, kubeconfig: Path, tmp_path: Path, silent_git: LoopbackService
) -> None:
    env = {
        **worker_env(redis_url, kubeconfig, tmp_path / "data"),
        "RECONCILER_TASK_TIME_LIMIT": "30",  # the poll is lost with its worker, never ended by a limit
        "RECONCILER_ALLOWED_PRIVATE_HOSTS": f"127.0.0.1:{silent_git.port}",
    }
    workers = Workers(env, tmp_path)
    store = Store(redis_client)
    manifest = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: doomed, namespace: argocd}\n"
        f"spec:\n  project: default\n  source: {{repoURL: 'http://127.0.0.1:{silent_git.port}/org/repo.git', "
        "targetRevision: HEAD, path: app}\n  destination: {server: 'https://kubernetes.default.svc', namespace: x}\n"
    )
    actions.create(store, parse_manifests(manifest, source_file="test.yaml"), owner="cli")
    try:
        worker = workers.start("worker")
        workers.start("beat")
        store.schedule_poll("doomed", at=0)
        for start in range(1, 4):
            wait_for(lambda n=start: silent_git.connections >= n, 60, f"start {start} of the poll to reach Git")
            for pid in pool_processes(worker.pid):  # what the OOM killer would do
                os.kill(pid, signal.SIGKILL)

        def condition() -> str:
            conditions = (store.status("doomed") or {}).get("conditions") or []
            return " ".join(str(c.get("message")) for c in conditions if c.get("type") == "ComparisonError")

        message = wait_for(condition, 60, "a condition on the app after the third lost worker")
        assert "the poll of application 'doomed' was started 3 times" in message
        assert "worker process was lost" in message
        assert silent_git.connections == 3  # the fourth delivery was acknowledged without running
        assert worker.poll() is None  # the worker itself goes on
    finally:
        workers.stop_all()
