"""What the HTTP handlers share: settings, the process's clients (made on first use), and
the ways the API hands work to workers (a fresh poll, a sync, an app delete, a cluster request).

The Celery side (workers.*) is imported only when work is first enqueued or the broker is
checked, so importing the API does not configure Celery or start an embedded Redis.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from reconciler.api.access.control import AccessControl
from reconciler.api.access.oidc import OidcClient
from reconciler.api.errors import ApiError
from reconciler.control.app_rows import RowIndex
from reconciler.control.previews.request import PreviewRequest
from reconciler.control.requests import SyncRequest
from reconciler.control.sync.operation import DeleteRequest
from reconciler.core.urls import redact_url
from reconciler.services import Services
from reconciler.settings import Settings

BROKER_CHECK_TIMEOUT_SECONDS = 2.0
WORKER_ANSWER_TIMEOUT_SECONDS = 60.0


@dataclass
class ApiContext:
    settings: Settings
    given_services: Services | None = None
    # The RBAC policy; built by create_app (a policy that cannot be parsed stops the API there).
    access: AccessControl = field(default=None, repr=False)  # type: ignore[assignment]
    oidc: OidcClient | None = field(default=None, init=False, repr=False)  # single sign-on, when configured
    _services: Services | None = field(default=None, init=False, repr=False)
    # Webhooks answered 503 because Redis stayed unreachable past the hold (this process's count:
    # Redis, where every other counter lives, was the thing that was down).
    webhooks_unavailable: int = field(default=0, init=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _row_index: RowIndex | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.access is None:
            self.access = AccessControl(self.settings)
        if self.settings.oidc is not None:
            self.oidc = OidcClient(self.settings.oidc, self.settings.external_url + "/auth/callback")

    def services(self) -> Services:
        """The clients of this API process: the ones passed to create_app, else built from
        the settings (REDIS_URL, else the embedded Redis of the data dir, as workers do)."""
        with self._guard:
            return self.services_unlocked()

    def app_rows(self) -> list[dict[str, Any]]:
        """Every app's list row, from this process's index kept up to date by the app event
        stream (control/app_rows.py RowIndex): a list of 10,000 apps without 10,000 reads."""
        with self._guard:
            if self._row_index is None:
                self._row_index = RowIndex(self.services_unlocked().store)
        return self._row_index.rows()

    def services_unlocked(self) -> Services:
        if self.given_services is not None:
            return self.given_services
        if self._services is None:
            self._services = Services.create(self.settings)
        return self._services

    def close(self) -> None:
        with self._guard:
            self._row_index = None
            if self._services is not None:
                self._services.close()
                self._services = None

    def enqueue_fresh_poll(self, name: str) -> None:
        """A push webhook's refresh: list the remote's refs now, on the urgent queue."""
        from workers.tasks import poll

        poll.apply_async(args=(name,), kwargs={"fresh": True}, queue="urgent")

    def enqueue_preview(self, request: PreviewRequest) -> str:
        """Record a pull-request preview and queue it on the `preview` queue; its id."""
        from workers.tasks import queue_preview

        return queue_preview(self.services().store, request)

    def enqueue_sync(self, request: SyncRequest) -> bool:
        from workers.tasks import request_sync

        return request_sync(self.services().store, request)

    def enqueue_delete(self, request: DeleteRequest) -> None:
        from workers.tasks import enqueue_delete

        enqueue_delete(request)

    def ask_workers(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        """A worker's answer to a cluster request (reconciler/control/cluster_requests.py), for
        an API that has no cluster credentials. Raises ApiError 504 when none answers in time."""
        from workers.tasks import cluster_request

        request_id = uuid.uuid4().hex
        cluster_request.apply_async(args=(request_id, kind, params), queue="urgent")
        reply = self.services().store.wait_reply(request_id, WORKER_ANSWER_TIMEOUT_SECONDS)
        if reply is None:
            raise ApiError(
                504,
                f"no worker answered the {kind} request within {WORKER_ANSWER_TIMEOUT_SECONDS:.0f}s: "
                "check that workers run (`reconciler worker`) and their queues are not backed up",
            )
        if reply.get("failed"):
            raise ApiError(500, f"the worker could not answer the {kind} request: {reply['failed']}")
        return reply

    def broker_problem(self) -> str:
        """"" when the Celery broker accepts a connection, else what is wrong (no credentials)."""
        from workers.celery_app import app as celery_app

        try:
            with celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_CHECK_TIMEOUT_SECONDS)
        except Exception as exc:  # any transport error means "not reachable"; say which broker
            # A Sentinel broker is a `;`-separated list of URLs, each with the password.
            url = ";".join(redact_url(part) for part in str(celery_app.conf.broker_url or "").split(";"))
            return f"broker {url} is not reachable: {type(exc).__name__}"
        return ""
