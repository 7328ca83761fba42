"""Argo CD's notifications catalog (notifications_catalog/install.yaml, copied unchanged into
tests/fixtures/notifications) loads, and each trigger fires on the state its documentation
names (docs/operator-manual/notifications/catalog.md) and not otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.control.notifications.appview import application_view
from reconciler.control.notifications.config import NotificationsConfig, load_config
from reconciler.control.notifications.delivery import render_outgoing
from reconciler.control.notifications.events import evaluate
from reconciler.control.notifications.secrets import Secrets

CATALOG = Path(__file__).resolve().parent.parent / "fixtures" / "notifications" / "catalog-install.yaml"
T0 = 1_700_000_000.0  # an operation starts here; times below are seconds after it


@pytest.fixture(scope="module")
def catalog() -> NotificationsConfig:
    return load_config(str(CATALOG), Secrets(), public_url="https://cd.example.com")


def manifest(**annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "guestbook", "namespace": "argocd", "annotations": annotations},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://github.com/argoproj/argocd-example-apps.git", "path": "guestbook"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook"},
        },
    }


def app(
    *,
    sync: str = "Synced",
    health: str = "Healthy",
    health_since: float = T0 - 600,
    phase: str | None = None,
    finished: float = T0 + 20,
    observed: float = T0 + 30,
    deleted: bool = False,
) -> dict[str, Any]:
    status = {
        "sync": {"status": sync, "revision": "abc123"},
        "health": {"status": health, "message": ""},
        "healthTransitionAt": health_since,
        "conditions": [{"type": "SyncError", "message": "one or more objects failed to apply"}] if phase else [],
        "resources": [],
        "observedAt": observed,
        "reconciledAt": observed,
    }
    operation = None
    if phase:
        operation = {"id": "op1", "phase": phase, "message": f"sync {phase.lower()}", "startedAt": T0,
                     "revision": "abc123", "trigger": "auto", "resources": []}
        if phase != "Running":
            operation["finishedAt"] = finished
    return application_view(manifest(), status, operation, [], deleted_at=T0 + 60 if deleted else None)


def fires(config: NotificationsConfig, trigger: str, view: dict[str, Any]) -> bool:
    return any(evaluate(condition, view)[0] for condition in config.triggers[trigger])


def test_the_catalog_loads_unchanged_with_its_eight_triggers_and_templates(catalog: NotificationsConfig) -> None:
    names = ["on-created", "on-deleted", "on-deployed", "on-health-degraded", "on-sync-failed", "on-sync-running",
             "on-sync-status-unknown", "on-sync-succeeded"]
    assert sorted(catalog.triggers) == names
    assert sorted(catalog.templates) == sorted(
        {template for conditions in catalog.triggers.values() for c in conditions for template in c.send}
    )
    assert catalog.context["argocdUrl"] == "https://cd.example.com"


def test_on_created_fires_for_any_application_once_per_name(catalog: NotificationsConfig) -> None:
    triggered, once_per = evaluate(catalog.triggers["on-created"][0], app())
    assert (triggered, once_per) == (True, "guestbook")


def test_on_deleted_fires_only_for_an_application_being_deleted(catalog: NotificationsConfig) -> None:
    assert fires(catalog, "on-deleted", app(deleted=True))
    assert not fires(catalog, "on-deleted", app())


def test_on_deployed_fires_when_synced_and_healthy_after_the_operation(catalog: NotificationsConfig) -> None:
    # Healthy since after the operation finished (the rollout completed): deployed.
    assert fires(catalog, "on-deployed", app(phase="Succeeded", health_since=T0 + 25))
    # Still rolling out, or healthy only from before the operation finished: not yet.
    assert not fires(catalog, "on-deployed", app(phase="Succeeded", health="Progressing", health_since=T0 + 25))
    assert not fires(catalog, "on-deployed", app(phase="Succeeded", health_since=T0 - 600))
    assert not fires(catalog, "on-deployed", app(phase="Failed", health_since=T0 + 25))
    assert not fires(catalog, "on-deployed", app())


def test_on_deployed_is_once_per_synced_revision(catalog: NotificationsConfig) -> None:
    deployed = app(phase="Succeeded", health_since=T0 + 25)
    assert evaluate(catalog.triggers["on-deployed"][0], deployed) == (True, "abc123")


def test_on_health_degraded_fires_when_health_is_degraded(catalog: NotificationsConfig) -> None:
    assert fires(catalog, "on-health-degraded", app(health="Degraded"))
    for health in ("Healthy", "Progressing", "Missing", "Unknown", "Suspended"):
        assert not fires(catalog, "on-health-degraded", app(health=health))


@pytest.mark.parametrize("phase", ["Failed", "Error"])
def test_on_sync_failed_fires_for_failed_and_errored_operations(catalog: NotificationsConfig, phase: str) -> None:
    assert fires(catalog, "on-sync-failed", app(phase=phase))


@pytest.mark.parametrize("phase", [None, "Running", "Succeeded"])
def test_on_sync_failed_does_not_fire_otherwise(catalog: NotificationsConfig, phase: str | None) -> None:
    assert not fires(catalog, "on-sync-failed", app(phase=phase))


def test_on_sync_running_fires_while_an_operation_runs(catalog: NotificationsConfig) -> None:
    assert fires(catalog, "on-sync-running", app(phase="Running"))
    assert not fires(catalog, "on-sync-running", app(phase="Succeeded"))
    assert not fires(catalog, "on-sync-running", app())


def test_on_sync_status_unknown_fires_when_the_sync_status_is_unknown(catalog: NotificationsConfig) -> None:
    assert fires(catalog, "on-sync-status-unknown", app(sync="Unknown"))
    assert not fires(catalog, "on-sync-status-unknown", app(sync="OutOfSync"))
    assert not fires(catalog, "on-sync-status-unknown", app(sync="Synced"))


def test_on_sync_succeeded_fires_for_a_succeeded_operation_only(catalog: NotificationsConfig) -> None:
    assert fires(catalog, "on-sync-succeeded", app(phase="Succeeded"))
    assert not fires(catalog, "on-sync-succeeded", app(phase="Failed"))
    assert not fires(catalog, "on-sync-succeeded", app(phase="Running"))
    assert not fires(catalog, "on-sync-succeeded", app())


def _entry(trigger: str, service: str, recipient: str, view: dict[str, Any], templates: list[str]) -> dict[str, Any]:
    return {"app": "guestbook", "trigger": trigger, "service": service, "recipient": recipient,
            "templates": templates, "view": view}


def test_catalog_templates_render_their_documented_text_and_valid_slack_attachments() -> None:
    data = {
        "service.slack": "token: xoxb-test\n",
        "service.email": "host: smtp.example.com\nport: 587\nfrom: cd@example.com\n",
    }
    text = CATALOG.read_text().replace("data:\n", "data:\n" + "".join(
        f"  {key}: |\n" + "".join(f"    {line}\n" for line in value.splitlines()) for key, value in data.items()
    ), 1)
    config = _load_text(text)
    view = app(phase="Failed", finished=T0 + 20)
    slack = render_outgoing(config, _entry("on-sync-failed", "slack", "deploys", view, ["app-sync-failed"]), Secrets())
    assert slack.message.startswith(":exclamation:  The sync operation of application guestbook has failed at")
    assert "with the following error: sync failed" in slack.message
    assert "https://cd.example.com/applications/guestbook?operation=true" in slack.message
    attachments = json.loads(slack.block["attachments"])
    assert attachments[0]["title_link"] == "https://cd.example.com/applications/guestbook"
    assert {"title": "SyncError", "value": "one or more objects failed to apply", "short": True} in attachments[0][
        "fields"
    ]
    email = render_outgoing(config, _entry("on-sync-failed", "email", "a@example.com", view, ["app-sync-failed"]),
                            Secrets())
    assert email.block["subject"] == "Failed to sync application guestbook."
    assert not email.message.startswith(":exclamation:")  # the Slack emoji is for Slack only


def _load_text(text: str) -> NotificationsConfig:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(text)
    try:
        return load_config(handle.name, Secrets(), public_url="https://cd.example.com")
    finally:
        Path(handle.name).unlink()
