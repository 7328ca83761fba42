"""`reconciler notify triggers` and `reconciler notify test`, as a user runs them: the command
in a subprocess, the app in Redis, the message sent to a receiver on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.control import user_actions as actions
from reconciler.model import parse_manifests
from reconciler.state import Store
from tests.notification_servers import http_receiver

pytestmark = pytest.mark.slow  # a subprocess per command

CATALOG = Path(__file__).resolve().parent.parent / "fixtures" / "notifications" / "catalog-install.yaml"


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_notify_triggers_lists_the_catalog_and_notify_test_renders_and_sends(
    redis_url: str, redis_client: Any, tmp_path: Path
) -> None:
    with http_receiver() as receiver:
        manifest = yaml.safe_load(CATALOG.read_text())
        manifest["data"]["template.app-sync-failed"] += (
            "webhook:\n  hook:\n    method: POST\n    body: 'failed: {{.app.metadata.name}}'\n"
        )
        manifest["data"]["service.webhook.hook"] = f"url: {receiver.url}/hook\n"
        config = tmp_path / "cm.yaml"
        config.write_text(yaml.safe_dump(manifest))
        env = {**os.environ, "REDIS_URL": redis_url, "RECONCILER_NOTIFICATIONS_FILE": str(config),
               "RECONCILER_ALLOWED_PRIVATE_HOSTS": "127.0.0.1", "RECONCILER_DATA_DIR": str(tmp_path / "data")}
        listed = run(env, "notify", "triggers", "-o", "json")
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)["triggers"]["on-sync-failed"][0]["send"] == ["app-sync-failed"]

        subscribe = {"notifications.argoproj.io/subscribe.on-sync-failed.hook": ""}
        app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
               "metadata": {"name": "web", "annotations": subscribe},
               "spec": {"project": "default", "source": {"repoURL": "https://example.com/r.git", "path": "."},
                        "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}}}
        store = Store(redis_client)
        actions.create(store, parse_manifests(json.dumps(app)), owner="api")
        store.put_operation_state("web", {"id": "op", "phase": "Failed", "message": "apply failed",
                                          "startedAt": 1.7e9, "finishedAt": 1.7e9 + 5, "revision": "abc"})
        dry = run(env, "notify", "test", "--trigger", "on-sync-failed", "--app", "web", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "(condition met)" in dry.stdout and '"body": "failed: web"' in dry.stdout
        assert "has failed at 2023-11-14T22:13:25Z with the following error: apply failed" in dry.stdout
        assert "(dry run: not sent)" in dry.stdout and receiver.requests() == []
        sent = run(env, "notify", "test", "--trigger", "on-sync-failed", "--app", "web")
        assert sent.returncode == 0, sent.stderr
        assert [r.body for r in receiver.requests("/hook")] == ["failed: web"]
        unknown = run(env, "notify", "test", "--trigger", "on-nothing", "--app", "web")
        assert unknown.returncode == 1 and "trigger 'on-nothing' is not configured" in unknown.stderr
