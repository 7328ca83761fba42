"""Sending one claimed notification: its templates rendered for the service, `$key` secrets
resolved, the service called; retried with backoff while the service is down, then reported.

At most one duplicate: a worker killed after the service accepted the message but before
the outbox entry was removed leaves the entry; its task is redelivered (or beat requeues the
entry) and sends it again. The lease (`acquire_delivery`) keeps two live tasks from sending
the same entry at once; it expires after the task time limit, so a killed task's lease does
not block the redelivered one.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from reconciler import telemetry
from reconciler.control.notifications.config import NotificationsConfig
from reconciler.control.notifications.loading import current_secrets, notifications_config
from reconciler.control.notifications.secrets import Secrets, SecretsError
from reconciler.control.notifications.services import SERVICE_TYPES
from reconciler.control.notifications.services.base import DeliveryError, Outgoing
from reconciler.control.notifications.templates import helper_data, render_parts
from reconciler.core.durations import parse_duration
from reconciler.core.outbound import OutboundPolicy
from reconciler.services import Services
from reconciler.settings import Settings
from reconciler.source.gotemplate import GoTemplateError

log = logging.getLogger("reconciler.notifications")

MAX_RETRY_WAIT_SECONDS = 30.0
# Where notifications may go: the allow-list every outbound fetch shares (read from the
# environment again when it changes)
OUTBOUND = OutboundPolicy()


def deliver(services: Services, delivery_id: str, lease_seconds: float) -> float | None:
    """Try the delivery once. Returns the seconds to wait before the next try, or None when
    it is done (sent, given up, finished by another task, or being sent by one now)."""
    store = services.store
    entry = store.delivery(delivery_id)
    if entry is None or not store.acquire_delivery(delivery_id, lease_seconds):
        return None
    attempt = int(entry.get("attempts") or 0) + 1
    settings = services.settings
    secrets = Secrets()
    try:
        secrets = current_secrets(settings)
        send_entry(settings, entry, secrets)
    except Exception as exc:  # a bug or an input nothing handles: reported, never retried forever
        expected = isinstance(exc, DeliveryError | SecretsError | GoTemplateError)
        if not expected:
            log.exception("notification failed unexpectedly", extra={"app": entry["app"], "delivery": delivery_id})
        retryable = isinstance(exc, DeliveryError) and exc.retryable
        text = str(exc) if expected else f"unexpected {type(exc).__name__}: {exc}"
        message = secrets.redact(text)
        max_attempts, first_wait, max_wait = _retry_policy(settings, entry)
        if retryable and attempt < max_attempts:
            wait = min(first_wait * 2 ** (attempt - 1), max_wait)
            now = time.time()
            entry.update({"attempts": attempt, "lastError": message, "touchedAt": now, "nextAttemptAt": now + wait})
            store.update_delivery(delivery_id, entry)
            store.release_delivery(delivery_id)
            log.warning("notification not delivered (try %d of %d, again in %.0fs): %s", attempt, max_attempts, wait,
                        message, extra={"app": entry["app"], "delivery": delivery_id})
            return wait
        _finish(services, entry, attempt, error=message)
        return None
    _finish(services, entry, attempt, error="")
    return None


def _retry_policy(settings: Settings, entry: dict[str, Any]) -> tuple[int, float, float]:
    """(tries, first wait, longest wait): the settings', or a webhook's own retryMax (retries
    after the first try), retryWaitMin and retryWaitMax, as Argo CD's webhook service has them."""
    tries, first = settings.notifications_max_attempts, settings.notifications_retry_seconds
    longest = MAX_RETRY_WAIT_SECONDS
    config = notifications_config(settings).config
    spec = config.services.get(entry["service"]) if config else None
    if spec is None or spec.type != "webhook":
        return tries, first, longest
    options = spec.options
    try:
        if options.get("retryMax") not in (None, ""):
            tries = int(options["retryMax"]) + 1
        if options.get("retryWaitMin") not in (None, ""):
            first = parse_duration(options["retryWaitMin"])
        if options.get("retryWaitMax") not in (None, ""):
            longest = min(parse_duration(options["retryWaitMax"]), MAX_RETRY_WAIT_SECONDS)
    except ValueError:
        pass  # checked when the configuration loaded
    return tries, first, max(longest, first)


def _finish(services: Services, entry: dict[str, Any], attempts: int, *, error: str) -> None:
    record = {
        "id": entry["id"],
        "trigger": entry["trigger"],
        "service": entry["service"],
        "recipient": entry["recipient"],
        "templates": entry["templates"],
        "succeeded": not error,
        "attempts": attempts,
        "at": time.time(),
        "decidedAt": entry.get("createdAt"),
        "error": error,
    }
    if not services.store.finish_delivery(entry["id"], entry["app"], record):
        return  # another task finished it first: counted there
    telemetry.record_notification(services.store, entry["service"], entry["trigger"], not error)
    if error:
        log.error("notification failed after %d tries: %s", attempts, error,
                  extra={"app": entry["app"], "delivery": entry["id"]})
    else:
        log.info("notification delivered: %s to %s", entry["trigger"], entry["service"],
                 extra={"app": entry["app"], "delivery": entry["id"]})


def send_entry(settings: Settings, entry: dict[str, Any], secrets: Secrets) -> None:
    loaded = notifications_config(settings)
    if loaded.config is None:
        raise DeliveryError(f"the notifications configuration cannot be used: {loaded.error or 'it is unset'}",
                            retryable=False)
    outgoing = render_outgoing(loaded.config, entry, secrets)
    spec = loaded.config.services[entry["service"]]
    options = secrets.resolve_tree(dict(spec.options), f"service.{spec.type}.{spec.name}")
    SERVICE_TYPES[spec.type].send(options, outgoing, OUTBOUND)


def render_outgoing(config: NotificationsConfig, entry: dict[str, Any], secrets: Secrets) -> Outgoing:
    """The entry's templates rendered for its service and recipient, merged in `send` order
    (as Argo CD merges the templates of one condition into one notification)."""
    spec = config.services.get(entry["service"])
    if spec is None:
        raise DeliveryError(f"service {entry['service']!r} is no longer configured", retryable=False)
    view = entry["view"]
    data = {
        "app": view,
        "context": dict(config.context),
        "secrets": dict(secrets.values),
        "serviceType": spec.type,
        "recipient": entry["recipient"],
        **helper_data(view),
    }
    message, block = "", {}
    for name in entry["templates"]:
        template = config.templates.get(name)
        if template is None:
            raise DeliveryError(f"template {name!r} is no longer configured", retryable=False)
        rendered = render_parts(template.parts_for(spec.type, spec.name), data, f"template.{name}")
        message = rendered["message"] or message
        block.update(rendered["block"] or {})
    return Outgoing(spec.name, spec.type, entry["recipient"], message, block)
