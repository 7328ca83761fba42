"""Issue 22: a webhook delivery captured once (a proxy's log, a CI job's output) and sent again is
acknowledged and ignored: its signature is valid, but the provider's delivery id was seen within
the hour. A new delivery of the same push is handled as usual."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.state import Store
from tests.api.conftest import PROVIDERS, Api, Provider, serve_api, urgent_queue_length  # noqa: F401 (fixture)
from tests.api.test_webhook_api import register_for
from tests.integration.conftest import celery_app  # noqa: F401 (fixture serve_api uses)

# The header each provider names its deliveries with (its documentation's).
DELIVERY_HEADER = {
    "github": "X-GitHub-Delivery",
    "gitlab": "X-Gitlab-Event-UUID",
    "bitbucket": "X-Request-UUID",
    "bitbucket-server": "X-Request-Id",
    "gitea": "X-Gitea-Delivery",
    "gogs": "X-Gogs-Delivery",
    "generic": "X-Reconciler-Delivery",
}


@pytest.mark.parametrize("provider", PROVIDERS, ids=[p.name for p in PROVIDERS])
def test_a_replayed_delivery_is_acknowledged_and_ignored_and_a_new_one_is_handled(
    provider: Provider, serve_api: Callable[..., Api], redis_client: Any  # noqa: F811 (the fixture)
) -> None:
    store = Store(redis_client)
    register_for(store, provider)
    body = provider.body()
    delivery = {DELIVERY_HEADER[provider.name]: str(uuid.uuid4())}
    with serve_api().client(token=None) as http:
        first = http.post("/api/webhook", content=body, headers={**provider.headers(body), **delivery})
        assert first.status_code == 202 and first.json()["queued"] == ["pushed"], first.text
        store.clear_webhook_poll("pushed")  # that poll started: a new push would need one of its own
        queued = urgent_queue_length(redis_client)

        replayed = http.post("/api/webhook", content=body, headers={**provider.headers(body), **delivery})
        assert replayed.status_code == 200, replayed.text
        assert replayed.json() == {"duplicate": True, "provider": provider.name,
                                   "delivery": next(iter(delivery.values())), "queued": []}
        assert urgent_queue_length(redis_client) == queued

        another = {DELIVERY_HEADER[provider.name]: str(uuid.uuid4())}
        fresh = http.post("/api/webhook", content=body, headers={**provider.headers(body), **another})
        assert fresh.status_code == 202 and fresh.json()["queued"] == ["pushed"]
        assert urgent_queue_length(redis_client) == queued + 1
