"""Fixtures for the HTTP API tests: the real ASGI app served by uvicorn on a free port, over
the session's Redis and Celery app (and, where a test needs it, the whole running system)."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import serve_app
from tests.integration.conftest import celery_app, system  # noqa: F401 (fixtures used here)

WEBHOOKS = Path(__file__).resolve().parent.parent / "unit" / "fixtures" / "webhooks"
SECRET = "api-test-webhook-secret-0123456789"
HOOK_UUID = "{8a3c4d9e-1f2b-4c5d-9e6f-7a8b9c0d1e2f}"
ADMIN_TOKEN = "admin-token-for-tests-0123456789"
READONLY_TOKEN = "readonly-token-for-tests-98765"


def hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclasses.dataclass(frozen=True)
class Provider:
    """How one provider delivers a push, as its documentation shows: headers and signature."""

    name: str
    fixture: str
    event_headers: dict[str, str]
    sign: Callable[[str, bytes], dict[str, str]]
    secret: str = SECRET

    def body(self) -> bytes:
        return (WEBHOOKS / self.fixture).read_bytes()

    def headers(self, body: bytes, secret: str | None = None) -> dict[str, str]:
        return {"Content-Type": "application/json", **self.event_headers, **self.sign(secret or self.secret, body)}


PROVIDERS = [
    Provider("github", "github_push.json", {"X-GitHub-Event": "push"},
             lambda s, b: {"X-Hub-Signature-256": "sha256=" + hex_hmac(s, b)}),
    Provider("gitlab", "gitlab_push.json", {"X-Gitlab-Event": "Push Hook"}, lambda s, b: {"X-Gitlab-Token": s}),
    Provider("bitbucket", "bitbucket_cloud_push.json", {"X-Event-Key": "repo:push"},
             lambda s, b: {"X-Hook-UUID": s}, secret=HOOK_UUID),
    Provider("bitbucket-server", "bitbucket_server_refs_changed.json", {"X-Event-Key": "repo:refs_changed"},
             # One variable serves both Bitbucket products: the Cloud hook UUID or the Server secret.
             lambda s, b: {"X-Hub-Signature": "sha256=" + hex_hmac(s, b)}, secret=HOOK_UUID),
    Provider("gitea", "gitea_push.json", {"X-Gitea-Event": "push", "X-Gogs-Event": "push", "X-GitHub-Event": "push"},
             lambda s, b: {"X-Gitea-Signature": hex_hmac(s, b)}),
    Provider("gogs", "gogs_push.json", {"X-Gogs-Event": "push"}, lambda s, b: {"X-Gogs-Signature": hex_hmac(s, b)}),
    Provider("generic", "generic_push.json", {}, lambda s, b: {"X-Signature": "sha256=" + hex_hmac(s, b)}),
]
BY_NAME = {p.name: p for p in PROVIDERS}
# Secrets per provider family, as RECONCILER_WEBHOOK_<FAMILY>_SECRET would give them.
WEBHOOK_SECRETS = {"github": SECRET, "gitlab": SECRET, "bitbucket": HOOK_UUID, "gitea": SECRET, "generic": SECRET}


@dataclasses.dataclass
class Api:
    url: str
    settings: Any
    services: Any

    def client(self, token: str | None = ADMIN_TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, trust_env=False)


@pytest.fixture
def serve_api(celery_app: Any, redis_url: str, redis_client: Any) -> Iterator[Callable[..., Api]]:  # noqa: F811
    """Start the API (uvicorn in a thread) with settings overridden by keyword; stopped after the test.

    Settings start from the Celery app's (the `system` fixture points them at its kubesim
    when the test uses it), with webhook secrets and an admin and a read-only token.
    """
    from reconciler.api.server import create_app
    from reconciler.services import Services

    with contextlib.ExitStack() as stack:

        def start(**overrides: Any) -> Api:
            defaults: dict[str, Any] = {
                "webhook_secrets": dict(WEBHOOK_SECRETS),
                "api_tokens": (("admin", ADMIN_TOKEN), ("readonly", READONLY_TOKEN)),
            }
            settings = dataclasses.replace(celery_app.conf.reconciler_settings, **{**defaults, **overrides})
            services = Services.create(settings, redis_url)
            stack.callback(services.close)
            url = stack.enter_context(serve_app(create_app(settings, services)))
            return Api(url, settings, services)

        yield start


def urgent_queue_length(redis_client: Any) -> int:
    """Messages waiting in the `urgent` Celery queue (kombu keeps priorities in suffixed lists)."""
    return sum(int(redis_client.llen(key)) for key in redis_client.scan_iter("urgent*"))
