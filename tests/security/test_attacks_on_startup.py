"""Attacks on how the processes start and what they trust (issue 10): `reconciler up` on a
reachable address, forwarded headers from any client, Flower on a reachable address. Each
drives the real `reconciler up` / `reconciler api` / `reconciler flower` subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.settings import Settings
from reconciler.state.embedded_redis import stop_embedded_redis
from reconciler.state.redis_server import free_port
from tests.security.conftest import answers, base_env, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    environment = base_env(tmp_path, tmp_path / "no-kubeconfig")
    yield environment
    stop_embedded_redis(Settings.from_env(environment))


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_5_up_on_a_reachable_address_without_a_token_refuses_to_start(env: dict[str, str]) -> None:
    port = free_port()
    started = run_cli(env, "up", "--host", "0.0.0.0", "--port", str(port))
    assert started.returncode != 0
    assert "RECONCILER_API_TOKENS" in started.stderr + started.stdout
    assert not answers(f"http://127.0.0.1:{port}/healthz")
    # `reconciler api` told to open itself on every address is refused the same way.
    opened = run_cli({**env, "RECONCILER_API_AUTH": "none"}, "api", "--host", "0.0.0.0", "--port", str(port))
    assert opened.returncode != 0 and "RECONCILER_API_TOKENS" in opened.stderr + opened.stdout


def test_7_x_forwarded_for_from_an_untrusted_client_does_not_dodge_the_webhook_rate_limit(
    env: dict[str, str], redis_url: str
) -> None:
    port = free_port()
    api_env = {**env, "REDIS_URL": redis_url, "RECONCILER_WEBHOOK_RATE_LIMIT": "10",
               "RECONCILER_API_TOKENS": "admin:security-test-token"}
    proc = subprocess.Popen([sys.executable, "-m", "reconciler.cli", "api", "--host", "127.0.0.1", "--port", str(port)],
                            env=api_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/healthz"), 60, "`reconciler api`")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, trust_env=False) as http:
            codes = [
                http.post("/api/webhook", content=b"{}", headers={
                    "Content-Type": "application/json", "X-GitHub-Event": "push",
                    "X-Forwarded-For": f"203.0.113.{i}",
                }).status_code
                for i in range(30)
            ]  # fmt: skip
        assert codes.count(429) >= 20, codes
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_9_flower_listens_on_loopback_by_default_and_refuses_another_address_without_auth(
    env: dict[str, str], redis_url: str
) -> None:
    refused = run_cli({**env, "REDIS_URL": redis_url}, "flower", "--host", "0.0.0.0", "--port", str(free_port()))
    assert refused.returncode != 0
    assert "RECONCILER_FLOWER_BASIC_AUTH" in refused.stderr + refused.stdout
    help_text = run_cli(env, "flower", "--help").stdout
    assert "default 127.0.0.1" in help_text
