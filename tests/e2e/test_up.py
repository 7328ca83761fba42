"""`reconciler up`: one machine, embedded Redis, worker, beat and API; `reconciler app ...` in
another shell sees the same state; Ctrl-C stops every process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.settings import Settings
from reconciler.state.embedded_redis import stop_embedded_redis
from reconciler.state.redis_server import free_port
from tests.conftest import GitRepo


@pytest.fixture
def up_env(kubeconfig: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "RECONCILER_DATA_DIR": str(tmp_path / "data"),
           "RECONCILER_GIT_REF_CACHE_TTL": "0.5"}
    for name in ("REDIS_URL", "RECONCILER_SERVER", "RECONCILER_API_TOKENS", "RECONCILER_API_AUTH"):
        env.pop(name, None)
    yield env
    stop_embedded_redis(Settings.from_env(env))


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_up_runs_the_system_on_embedded_redis_and_stops_on_ctrl_c(up_env: dict[str, str], seed_repo: GitRepo) -> None:
    port = free_port()
    up = subprocess.Popen([sys.executable, "-m", "reconciler.cli", "up", "--port", str(port)], env=up_env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: healthy(f"http://127.0.0.1:{port}/readyz"), 60, "the API of `reconciler up`")

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], env=up_env,
                                  capture_output=True, text=True, timeout=60, check=False)

        created = cli("app", "create", "-f", str(seed_repo.path / "argocd/apps/worker.yaml"))
        assert created.returncode == 0, created.stderr

        def worker_synced() -> bool:
            apps = json.loads(cli("app", "list", "-o", "json").stdout or "[]")
            return any(a["name"] == "worker" and a["sync"] == "Synced" for a in apps)

        wait_for(worker_synced, 90, "the worker app to be synced by `reconciler up`")
        # No tokens configured: the API is open on 127.0.0.1 only.
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/applications", timeout=5).status_code == 200
    finally:
        up.send_signal(signal.SIGINT)
        output, _ = up.communicate(timeout=60)
    assert up.returncode == 0, output
    assert "redis:" in output and "(embedded" in output
    assert not healthy(f"http://127.0.0.1:{port}/healthz")
