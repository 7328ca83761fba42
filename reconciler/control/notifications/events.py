"""Deciding notifications where an app's state changes: after a poll wrote its status, when a
sync operation starts and ends, and when the app is deleted.

Each decision runs the subscribed triggers over the app as Argo CD shows it and claims what
fires with Argo CD's notified-state keys (notifications-engine pkg/controller/state.go):
`[<oncePer value>:]<trigger>:<condition key>:<service>:<recipient>`. A claimed key is not
notified again while its condition holds; a condition without `oncePer` that stops holding
is forgotten (it notifies again when it holds again); with `oncePer`, once per value.

As Argo CD's notification controller (isAppSyncStatusRefreshed), an app whose sync operation
ended after its status was last computed is left until the poll that follows the operation,
so a message never says "synced" next to the sync status of before the sync.

Nothing is evaluated when nothing an expression can see has changed since the last decision
(the app's fingerprint), unless a condition reads the clock (`time.Now()`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from reconciler.control.notifications.appview import application_view
from reconciler.control.notifications.config import Condition, NotificationsConfig
from reconciler.control.notifications.expr import ExprError, go_format
from reconciler.control.notifications.loading import notifications_config
from reconciler.control.notifications.subscriptions import Destination, destinations
from reconciler.services import Services
from reconciler.settings import Settings
from reconciler.state import Store

log = logging.getLogger("reconciler.notifications")

_ENDED_PHASES = ("Succeeded", "Failed", "Error")


def notify_app_event(services: Services, name: str, *, deleting: bool = False) -> int:
    """Decide the app's notifications now; returns how many were queued. Never raises: a
    notification problem must not fail the poll, sync or delete that called it."""
    return decide_notifications(services.store, services.settings, name, deleting=deleting)


def decide_notifications(store: Store, settings: Settings, name: str, *, deleting: bool = False) -> int:
    """`notify_app_event` for callers that hold a store and settings rather than Services."""
    try:
        loaded = notifications_config(settings)
        if loaded.config is None:
            return 0
        return _decide(store, loaded.config, name, deleting)
    except Exception:
        log.exception("deciding notifications failed", extra={"app": name})
        return 0


def app_view_of(store: Store, name: str, *, deleting: bool = False) -> dict[str, Any] | None:
    manifest = store.app_manifest(name)
    if manifest is None:
        return None
    being_deleted = deleting or bool(store.deletion_problem(name))
    return application_view(
        manifest,
        store.status(name),
        store.operation_state(name),
        store.history(name),
        deleted_at=time.time() if being_deleted else None,
    )


def _decide(store: Store, config: NotificationsConfig, name: str, deleting: bool) -> int:
    manifest = store.app_manifest(name)
    if manifest is None:
        return 0
    metadata = manifest.get("metadata") or {}
    project = store.project_manifest(str((manifest.get("spec") or {}).get("project") or "default")) or {}
    subscribed = destinations(
        config,
        metadata.get("labels") or {},
        metadata.get("annotations") or {},
        (project.get("metadata") or {}).get("annotations") or {},
    )
    decided = store.notify_decision(name)
    if not subscribed.by_trigger:  # most apps: nothing to evaluate
        if decided.get("problems", []) != subscribed.problems or decided.get("fingerprint"):
            store.set_notify_seen(name, "", subscribed.problems)
        return 0
    status, operation = store.status(name) or {}, store.operation_state(name) or {}
    if not deleting and not status_refreshed(status, operation):
        return 0
    being_deleted = deleting or bool(store.deletion_problem(name))
    view = application_view(
        manifest, status, operation, store.history(name), deleted_at=time.time() if being_deleted else None
    )
    fingerprint = _fingerprint(view, config.digest)
    if not config.uses_now and not deleting and decided.get("fingerprint") == fingerprint:
        return 0
    notified = store.notified_keys(name)
    queued = sum(
        _run_trigger(store, config, name, trigger, dests, view, notified)
        for trigger, dests in subscribed.by_trigger.items()
    )
    store.set_notify_seen(name, fingerprint, subscribed.problems)
    return queued


def status_refreshed(status: Mapping[str, Any], operation: Mapping[str, Any]) -> bool:
    """Argo CD's isAppSyncStatusRefreshed: an ended operation's app is judged only once its
    status was computed by a poll that started after the operation finished."""
    if operation.get("phase") not in _ENDED_PHASES or operation.get("nextRetryAt"):
        return True
    try:
        return float(status.get("observedAt") or 0) > float(operation.get("finishedAt") or 0) > 0
    except (TypeError, ValueError):
        return False


def _fingerprint(view: Mapping[str, Any], config_digest: str) -> str:
    status = {k: v for k, v in (view.get("status") or {}).items() if k not in ("reconciledAt", "observedAt")}
    text = json.dumps({"app": {**view, "status": status}, "config": config_digest}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def state_key(trigger: str, condition: Condition, once_per: str, destination: Destination) -> str:
    key = f"{trigger}:{condition.key}:{destination.service}:{destination.recipient}"
    return f"{once_per}:{key}" if once_per else key


def evaluate(condition: Condition, view: Mapping[str, Any]) -> tuple[bool, str]:
    """(triggered, oncePer value) as Argo CD computes them: an expression that fails counts as
    not met; oncePer is evaluated only when the condition is met, formatted with `%v`."""
    variables = {"app": view}
    try:
        triggered = condition.when.run(variables) is True
    except ExprError as exc:
        log.debug("condition %r failed: %s", condition.when.text, exc)
        return False, ""
    if not triggered or condition.once_per is None:
        return triggered, ""
    try:
        return True, go_format(condition.once_per.run(variables))
    except ExprError as exc:
        log.debug("oncePer %r failed: %s", condition.once_per.text, exc)
        return True, ""


def _run_trigger(
    store: Store,
    config: NotificationsConfig,
    name: str,
    trigger: str,
    dests: list[Destination],
    view: dict[str, Any],
    notified: set[str],
) -> int:
    queued = 0
    for condition in config.triggers[trigger]:
        triggered, once_per = evaluate(condition, view)
        if not triggered:
            # Argo CD forgets a condition that no longer holds, unless it has oncePer (keys with a value).
            stale = [state_key(trigger, condition, "", dest) for dest in dests]
            store.forget_notified(name, [key for key in stale if key in notified])
            continue
        for dest in dests:
            key = state_key(trigger, condition, once_per, dest)
            delivery_id = uuid.uuid4().hex
            payload = delivery_payload(delivery_id, name, trigger, condition, dest, view, key)
            if store.claim_notification(name, key, delivery_id, payload):
                queued += 1
                log.info(
                    "notification queued: %s to %s:%s", trigger, dest.service, dest.recipient or "-",
                    extra={"app": name, "delivery": delivery_id},
                )
    return queued


def delivery_payload(
    delivery_id: str,
    app: str,
    trigger: str,
    condition: Condition,
    dest: Destination,
    view: Mapping[str, Any],
    state_key: str,
) -> dict[str, Any]:
    """What a delivery task needs: the app as it was when the notification was decided (the
    message tells of that moment, even when sent later), never a secret."""
    now = time.time()
    return {
        "id": delivery_id,
        "app": app,
        "trigger": trigger,
        "service": dest.service,
        "recipient": dest.recipient,
        "templates": list(condition.send),
        "view": view,
        "stateKey": state_key,
        "createdAt": now,
        "touchedAt": now,
        "attempts": 0,
        "lastError": "",
    }
