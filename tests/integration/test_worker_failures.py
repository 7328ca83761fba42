"""Workers and Redis failing under a running system: worker processes are real
`reconciler worker` subprocesses here, killed with SIGKILL mid-sync."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.control import user_actions as actions
from reconciler.engine.cluster import Cluster
from reconciler.model import parse_manifests
from reconciler.state import Store
from reconciler.state.redis_server import RedisProcess, free_port
from tests.conftest import GitRepo

TASK_TIME_LIMIT = "4"  # visibility timeout 9 s, lock TTL 13.5 s: redelivery within seconds


def worker_env(redis_url: str, kubeconfig: Path, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        "KUBECONFIG": str(kubeconfig),
        "RECONCILER_DATA_DIR": str(data_dir),
        "RECONCILER_TASK_TIME_LIMIT": TASK_TIME_LIMIT,
        "RECONCILER_GIT_REF_CACHE_TTL": "0.2",
    }


class Workers:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, role: str = "worker") -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{role}{len(self.procs)}.log", "wb")  # noqa: SIM115 - closed with the process
        args = ["worker", "--concurrency", "1"] if role == "worker" else [role]
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", *args, "--loglevel", "INFO"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches the pool child too
        )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # Redis briefly away during a restart
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def app_manifest(repo: GitRepo, name: str, automated: bool = False) -> str:
    policy = "  syncPolicy:\n    automated: {}\n" if automated else ""
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        f"metadata:\n  name: {name}\n  namespace: argocd\n"
        f"spec:\n  project: default\n  source:\n    repoURL: {repo.url}\n    targetRevision: HEAD\n    path: app\n"
        f"  destination:\n    server: https://kubernetes.default.svc\n    namespace: default\n{policy}"
    )


def waves_of_configmaps(waves: int, per_wave: int) -> dict[str, str]:
    files = {}
    for wave in range(waves):
        for i in range(per_wave):
            name = f"w{wave}-cm{i}"
            files[f"app/{name}.yaml"] = (
                f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
                f"  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\ndata:\n  wave: \"{wave}\"\n"
            )
    return files


@pytest.fixture
def celery_env(celery_app: Any, redis_url: str, kubesim: Any, kubeconfig: Path, tmp_path: Path) -> Iterator[Workers]:
    workers = Workers(worker_env(redis_url, kubeconfig, tmp_path / "data"), tmp_path)
    yield workers
    workers.stop_all()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_sync_survives_sigkill_of_its_worker_and_is_finished_by_another(
    celery_env: Workers, redis_client: Any, kubesim: Any, git_repo_factory: Callable[..., GitRepo]
) -> None:
    store = Store(redis_client)
    repo = git_repo_factory(waves_of_configmaps(waves=3, per_wave=4))
    actions.create(store, parse_manifests(app_manifest(repo, "killme"), source_file="test.yaml"), owner="cli")
    # Slow applies so the sync is surely in the middle when its worker dies.
    kubesim.api.add_faults([{"path_regex": "/configmaps/", "methods": ["PATCH"], "latency_ms": 250}])
    first = celery_env.start()

    from workers.tasks import request_sync

    request_sync(store, actions.sync(store, "killme"))
    wait_for(lambda: kubesim.api.get_object("v1", "ConfigMap", "default", "w0-cm1"), 60, "the sync to start applying")
    celery_env.start()  # the survivor
    celery_env.kill(first)
    assert store.history("killme") == [] and store.lock_holder("killme") is not None  # killed mid-sync
    wait_for(lambda: len(store.history("killme")) == 1, 90, "the sync to be finished by the other worker")

    for wave in range(3):
        for i in range(4):
            assert kubesim.api.get_object("v1", "ConfigMap", "default", f"w{wave}-cm{i}") is not None
    applied_waves = [
        int(entry["path"].rsplit("/", 1)[-1].split("-")[0][1:])
        for entry in kubesim.api.requests()
        if entry["method"] == "PATCH" and "/configmaps/" in entry["path"] and "dryRun" not in str(entry.get("query"))
    ]
    # Redelivery repeats at most the interrupted step: waves are applied in order, never going back.
    assert applied_waves == sorted(applied_waves)
    # The end writes history first, then releases the lock: wait for the release.
    wait_for(lambda: store.lock_holder("killme") is None, 30, "the app's lock released")


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_system_carries_on_after_redis_restarts_between_polls(
    kubesim: Any, kubeconfig: Path, tmp_path: Path, git_repo_factory: Callable[..., GitRepo]
) -> None:
    redis_dir = tmp_path / "redis"
    port = free_port()
    redis = RedisProcess(redis_dir, port=port, persistent=True).start()
    # A worker and beat of their own, on a Redis of their own that the test restarts.
    processes = Workers(worker_env(redis.url, kubeconfig, tmp_path / "data"), tmp_path)
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata: {{v: {value}}}\n"
    try:
        processes.start("worker")
        processes.start("beat")
        store = Store.from_url(redis.url)
        repo = git_repo_factory({"app/cm.yaml": cm.format(value="one")})
        manifest = app_manifest(repo, "durable", automated=True)
        actions.create(store, parse_manifests(manifest, source_file="t.yaml"), owner="cli")
        cluster = Cluster.for_host(kubesim.url)
        wait_for(lambda: (cluster.get("v1", "ConfigMap", "default", "a") or {}).get("data") == {"v": "one"}, 60,
                 "the first sync")

        redis.stop()
        redis = RedisProcess(redis_dir, port=port, persistent=True).start()
        assert store.app_names() == ["durable"]  # the registry survived the restart (AOF)

        repo.commit({"app/cm.yaml": cm.format(value="two")})
        store.schedule_poll("durable", at=0)
        wait_for(lambda: (cluster.get("v1", "ConfigMap", "default", "a") or {}).get("data") == {"v": "two"}, 90,
                 "a sync after the restart")
        # History is written when the operation finishes, a moment after the apply.
        wait_for(lambda: [h["revision"] for h in store.history("durable")][-1:] == [repo.head()], 30,
                 "the sync to be recorded in history")
    finally:
        processes.stop_all()
        redis.stop()
