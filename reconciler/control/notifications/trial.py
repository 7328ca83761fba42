"""`reconciler notify test` and `notify triggers`: what a trigger would send for an app now,
rendered (and sent, unless a dry run) to its subscribed destinations, outside the exactly-once
bookkeeping (a test sends every time, and records nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.control.notifications.config import NotificationsConfig
from reconciler.control.notifications.delivery import render_outgoing, send_entry
from reconciler.control.notifications.events import app_view_of, evaluate
from reconciler.control.notifications.loading import current_secrets
from reconciler.control.notifications.services.base import DeliveryError
from reconciler.control.notifications.subscriptions import Destination, destinations
from reconciler.core.errors import InputError
from reconciler.settings import Settings
from reconciler.state import Store


class TrialRefused(InputError, ValueError):
    """The test cannot run; the message says what to change."""


@dataclass(frozen=True)
class TrialResult:
    destination: Destination
    condition_met: bool
    rendered: dict[str, Any]  # message and the service's part
    error: str = ""


def trial(
    settings: Settings,
    config: NotificationsConfig,
    store: Store,
    app: str,
    trigger: str,
    *,
    to: list[str],
    dry_run: bool,
) -> list[TrialResult]:
    if trigger not in config.triggers:
        raise TrialRefused(f"trigger {trigger!r} is not configured (configured: {', '.join(sorted(config.triggers))})")
    view = app_view_of(store, app)
    if view is None:
        raise TrialRefused(f"application {app!r} is not registered")
    if to:
        dests = [Destination(*(item.split(":", 1) if ":" in item else (item, ""))) for item in to]
    else:
        project = store.project_manifest(str((view.get("spec") or {}).get("project") or "default")) or {}
        metadata = view.get("metadata") or {}
        found = destinations(config, metadata.get("labels") or {}, metadata.get("annotations") or {},
                             (project.get("metadata") or {}).get("annotations") or {})
        dests = found.by_trigger.get(trigger, [])
    if not dests:
        raise TrialRefused(
            f"application {app!r} has no subscription to {trigger}: add the annotation "
            f"notifications.argoproj.io/subscribe.{trigger}.<service>: <recipient>, or pass --to SERVICE[:RECIPIENT]"
        )
    unknown = sorted({d.service for d in dests if d.service not in config.services})
    if unknown:
        raise TrialRefused(f"service(s) {', '.join(unknown)} not configured (configured: {', '.join(config.services)})")
    secrets = current_secrets(settings)
    results = []
    for condition in config.triggers[trigger]:
        met, _ = evaluate(condition, view)
        for dest in dests:
            entry = {"app": app, "trigger": trigger, "service": dest.service, "recipient": dest.recipient,
                     "templates": list(condition.send), "view": view}
            error = ""
            try:
                outgoing = render_outgoing(config, entry, secrets)
                rendered = {"message": outgoing.message, dest.service: dict(outgoing.block)}
                if not dry_run:
                    send_entry(settings, entry, secrets)
            except (DeliveryError, ValueError) as exc:
                rendered, error = {}, secrets.redact(str(exc))
            results.append(TrialResult(dest, met, rendered, error))
    return results
