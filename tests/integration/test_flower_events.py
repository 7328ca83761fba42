"""Workers send no task events by themselves (they cost Redis commands on every task), yet
Flower, which asks every worker to send them while it runs, still lists the tasks they run.
Real processes: a redis-server, `reconciler worker` and `reconciler flower`."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.state.redis_server import RedisProcess

pytestmark = pytest.mark.slow  # Flower, a worker and a Redis of its own

AUTH = "flower:test-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _flower_get(port: int, path: str) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    request.add_header("Authorization", "Basic " + base64.b64encode(AUTH.encode()).decode())
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


@pytest.fixture
def redis_of_test(tmp_path: Path) -> Iterator[str]:
    proc = RedisProcess(tmp_path / "redis").start()
    yield proc.url
    proc.stop()


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "reconciler.cli", *argv], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.mark.timeout(120)
def test_flower_lists_tasks_though_workers_send_no_events_by_default(redis_of_test: str, tmp_path: Path) -> None:
    from celery import Celery

    from reconciler.settings import Settings
    from workers.celery_app import configure

    env = {**os.environ, "REDIS_URL": redis_of_test, "RECONCILER_DATA_DIR": str(tmp_path / "data"),
           "RECONCILER_FLOWER_BASIC_AUTH": AUTH}
    sender = configure(Celery("sender"), Settings.from_env(env))
    assert sender.conf.worker_send_task_events is False  # workers send none by themselves
    port = _free_port()
    worker = _start(["worker", "--pool", "solo", "--loglevel", "WARNING"], env, tmp_path / "worker.log")
    flower = _start(["flower", "--port", str(port)], env, tmp_path / "flower.log")
    try:
        deadline = time.monotonic() + 60
        workers: dict[str, Any] = {}
        while time.monotonic() < deadline and not workers:
            try:
                workers = _flower_get(port, "/api/workers?refresh=1")
            except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
                time.sleep(0.5)
        assert workers, f"Flower never saw the worker; see {tmp_path}"

        # A poll of an app nobody registered: the task runs and returns None.
        task_id = sender.send_task("reconciler.poll", args=("nobody-registered-this",), queue="urgent").id
        seen: dict[str, Any] = {}
        while time.monotonic() < deadline and (seen.get(task_id) or {}).get("state") != "SUCCESS":
            time.sleep(0.5)
            seen = _flower_get(port, "/api/tasks")
            if task_id not in seen:  # sent before Flower's enable_events reached the worker: send again
                task_id = sender.send_task("reconciler.poll", args=("nobody-registered-this",), queue="urgent").id
        assert (seen.get(task_id) or {}).get("name") == "reconciler.poll", (seen, (tmp_path / "worker.log").read_text())
        assert seen[task_id]["state"] == "SUCCESS"
    finally:
        _stop(flower)
        _stop(worker)
