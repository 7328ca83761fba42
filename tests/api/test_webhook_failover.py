"""A webhook that arrives while Redis is away: held and retried, a 503 only as the last resort,
and that 503 counted where it can be read once Redis is back."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.api.server import create_app
from reconciler.services import Services
from reconciler.state.redis_server import RedisProcess, free_port
from tests.api.conftest import ADMIN_TOKEN, SECRET, WEBHOOK_SECRETS, hex_hmac
from tests.conftest import serve_app

PUSH = json.dumps({"repository": "https://git.example.com/org/unknown.git", "ref": "refs/heads/main"}).encode()
HEADERS = {"Content-Type": "application/json", "X-Signature": "sha256=" + hex_hmac(SECRET, PUSH)}


@pytest.fixture
def api_on_a_redis_of_its_own(celery_app: Any, tmp_path: Path) -> Any:
    redis = RedisProcess(tmp_path / "redis", port=free_port(), persistent=True).start()
    settings = dataclasses.replace(
        celery_app.conf.reconciler_settings, webhook_secrets=dict(WEBHOOK_SECRETS),
        api_tokens=(("admin", ADMIN_TOKEN),), webhook_hold_seconds=3.0,
    )
    services = Services.create(settings, redis.url)
    with serve_app(create_app(settings, services)) as url:
        yield url, redis
    services.close()
    redis.stop()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_webhook_during_a_redis_outage_is_held_until_redis_is_back(api_on_a_redis_of_its_own: Any) -> None:
    url, redis = api_on_a_redis_of_its_own
    redis.stop()
    restart = threading.Timer(2.0, redis.start)  # back within the webhook's hold
    restart.start()
    try:
        response = httpx.post(f"{url}/api/webhook", content=PUSH, headers=HEADERS, timeout=60)
    finally:
        restart.join()
    assert response.status_code == 202, response.text


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_webhook_is_answered_503_when_redis_stays_away_and_the_503_is_counted(api_on_a_redis_of_its_own: Any) -> None:
    url, redis = api_on_a_redis_of_its_own
    redis.stop()
    response = httpx.post(f"{url}/api/webhook", content=PUSH, headers=HEADERS, timeout=90)
    assert response.status_code == 503
    assert "redeliver this webhook" in response.json()["error"] and response.headers["Retry-After"]
    redis.start()
    metrics = httpx.get(f"{url}/metrics", timeout=30).text
    assert "reconciler_webhook_unavailable_total 1" in metrics.splitlines()
