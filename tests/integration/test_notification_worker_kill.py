"""A notification survives the worker sending it being SIGKILLed mid-send: real `reconciler worker`
and `reconciler beat` subprocesses, a receiver on loopback that holds the first request open."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.control import user_actions as actions
from reconciler.control.notifications import notify_app_event
from reconciler.model import parse_manifests
from reconciler.services import Services
from reconciler.settings import Settings
from reconciler.state import Store
from tests.integration.test_worker_failures import Workers, wait_for, worker_env
from tests.notification_servers import Receiver, http_receiver

CATALOG = Path(__file__).resolve().parent.parent / "fixtures" / "notifications" / "catalog-install.yaml"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as running:
        yield running


def write_config(directory: Path, receiver: Receiver) -> Path:
    catalog = yaml.safe_load(CATALOG.read_text())["data"]
    data = {
        "trigger.on-created": catalog["trigger.on-created"],
        "template.app-created": catalog["template.app-created"]
        + 'webhook:\n  receiver:\n    method: POST\n    body: \'{"created": "{{.app.metadata.name}}"}\'\n',
        "service.webhook.receiver": f"url: {receiver.url}/webhook\n",
    }
    path = directory / "argocd-notifications-cm.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "argocd-notifications-cm"}, "data": data}))
    return path


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_worker_killed_while_sending_does_not_lose_the_notification(
    redis_url: str, redis_client: Any, kubeconfig: Path, tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver)
    env = {**worker_env(redis_url, kubeconfig, tmp_path / "data"),
           "RECONCILER_NOTIFICATIONS_FILE": str(config), "RECONCILER_ALLOWED_PRIVATE_HOSTS": "127.0.0.1"}
    workers = Workers(env, tmp_path)
    store = Store(redis_client)
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "kept", "namespace": "argocd",
                     "annotations": {"notifications.argoproj.io/subscribe.on-created.receiver": ""}},
        "spec": {"project": "default", "source": {"repoURL": "https://example.com/repo.git", "path": "app"},
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"}},
    }
    actions.create(store, parse_manifests(json.dumps(manifest)), owner="api")
    settings = dataclasses.replace(Settings.from_env(env), notifications_file=str(config))
    services = Services.create(settings, redis_url)
    try:
        assert notify_app_event(services, "kept") == 1
    finally:
        services.close()
    receiver.hold = "/webhook"  # the first send stays open until the worker is dead
    try:
        first = workers.start()
        workers.start("beat")  # hands the decided notification to the notifications queue
        receiver.wait("/webhook", 1, timeout=60)
        workers.start()  # the survivor
        workers.kill(first)
        receiver.hold = ""
        receiver.release.set()
        wait_for(lambda: not store.pending_deliveries(), 90, "the notification to be delivered by the other worker")
    finally:
        workers.stop_all()
    sent = receiver.requests("/webhook")
    # Never lost; at most one duplicate: the killed worker's send may have reached the server.
    assert 1 <= len(sent) <= 2 and all(r.json() == {"created": "kept"} for r in sent)
    [record] = store.notification_log("kept")
    assert record["succeeded"] and record["trigger"] == "on-created"
