"""Fixtures for tests that run the whole system: Celery workers, beat's tick, Redis, kubesim."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Short limits so a killed worker's task is redelivered within seconds, not minutes.
TEST_TASK_TIME_LIMIT = 6.0
TEST_REF_CACHE_TTL = 0.2


@pytest.fixture(scope="session")
def celery_app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The project's Celery app, configured once for this session's Redis.

    Imported here, after REDIS_URL is set, because importing workers.celery_app configures
    the app from the environment (and would otherwise start an embedded Redis).
    """
    os.environ["REDIS_URL"] = redis_url
    os.environ["RECONCILER_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    os.environ["RECONCILER_TASK_TIME_LIMIT"] = str(TEST_TASK_TIME_LIMIT)
    os.environ["RECONCILER_GIT_REF_CACHE_TTL"] = str(TEST_REF_CACHE_TTL)
    os.environ["RECONCILER_SYNC_WAVE_DELAY"] = "0.05"
    os.environ["RECONCILER_SYNC_MISSING_KIND_TIMEOUT"] = "20"
    from reconciler.settings import Settings
    from workers.celery_app import TaskTimings, app, configure

    configure(app, Settings.from_env(), TaskTimings(TEST_TASK_TIME_LIMIT))
    return app


@dataclass
class System:
    app: Any
    store: Any
    kubesim: Any
    cluster: Any
    kubeconfig: Path

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")

    def status(self, name: str) -> dict[str, Any]:
        return self.store.status(name) or {}

    def operation(self, name: str) -> dict[str, Any]:
        return self.store.operation_state(name) or {}

    def next_poll(self, name: str) -> None:
        """What beat does when the app's interval is up: by then the shared `git ls-remote`
        answer (cached for RECONCILER_GIT_REF_CACHE_TTL) has expired, so wait that out."""
        from workers.tasks import poll

        time.sleep(TEST_REF_CACHE_TTL * 2)
        poll.apply_async(args=(name,), queue="urgent")


@pytest.fixture
def system(
    celery_app: Any, redis_client: Any, kubesim: Any, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[System]:
    """A worker thread pool and a beat tick loop over real Redis, against a fresh kubesim."""
    from celery.contrib.testing.worker import start_worker

    from beat_schedule import run_tick
    from reconciler.engine.cluster import Cluster
    from reconciler.state import Store
    from workers import tasks

    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    settings = celery_app.conf.reconciler_settings
    celery_app.conf.reconciler_settings = dataclasses.replace(settings, kubeconfig=str(kubeconfig))
    tasks.reset_services()
    store = Store(redis_client)
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            run_tick(store, celery_app.send_task, poll_interval=3600)
            stop.wait(0.1)

    beat_thread = threading.Thread(target=beat, daemon=True)
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=4,
        perform_ping_check=False,
        queues=["urgent", "sync", "poll", "preview", "notifications"],
        shutdown_timeout=20,
    ):
        beat_thread.start()
        yield System(celery_app, store, kubesim, Cluster.for_host(kubesim.url), kubeconfig)
        stop.set()
        beat_thread.join()
    celery_app.conf.reconciler_settings = settings
    tasks.reset_services()


@pytest.fixture
def watcher(system: System) -> Iterator[Any]:
    """`reconciler watch` in a thread beside the workers (tests/integration/live_fixtures.py)."""
    from tests.integration.live_fixtures import start_watcher

    running = start_watcher(system)
    yield running
    running.stop.set()
    running.thread.join(10)
