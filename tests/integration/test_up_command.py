"""`reconciler up`: everything on one machine, and nothing of it left running after it exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from reconciler.state.embedded_redis import PASSWORD_FILE, PORT_FILE, _answers
from reconciler.state.redis_server import free_port


def _wait_for_api(port: int, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "reconciler up exited before its API answered"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the API of reconciler up did not answer within {timeout}s")


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_up_stops_the_embedded_redis_it_started_and_keeps_its_data(tmp_path: Path, stop_signal: int) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RECONCILER_REDIS_SENTINELS")}
    env.update(RECONCILER_DATA_DIR=str(data_dir), KUBECONFIG=str(tmp_path / "no-kubeconfig"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "reconciler.cli", "up", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_api(port, proc)
        redis_dir = data_dir / "redis"
        redis_port = int((redis_dir / PORT_FILE).read_text())
        password = (redis_dir / PASSWORD_FILE).read_text().strip()
        assert _answers(redis_port, password)
        proc.send_signal(stop_signal)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not _answers(redis_port, password), "the embedded redis-server outlived `reconciler up`"
    assert list(redis_dir.glob("appendonlydir/*")) or list(redis_dir.glob("*.aof")), "the data dir lost its AOF"
