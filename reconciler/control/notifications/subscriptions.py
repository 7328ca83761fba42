"""Who is subscribed to what, as Argo CD reads it (notifications-engine pkg/subscriptions and
argo-cd's notification controller):

- the ConfigMap's `subscriptions` (each entry's `triggers`, else `defaultTriggers`; only apps
  whose labels match its `selector`);
- the Application's annotations `notifications.argoproj.io/subscribe.<trigger>.<service>:
  <recipient>;<recipient>` (an empty value is one empty recipient, as a webhook needs), and
  `subscribe.<service>` for the service's default triggers (`defaultTriggers.<service>`, else
  `defaultTriggers`), and `notifications.argoproj.io/subscribe_yaml`;
- the same annotations on the app's AppProject, which apply to all of its apps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from reconciler.control.notifications.config import NotificationsConfig

ANNOTATION_PREFIX = "notifications.argoproj.io/"
SUBSCRIBE = ANNOTATION_PREFIX + "subscribe."
SUBSCRIBE_YAML = ANNOTATION_PREFIX + "subscribe_yaml"


@dataclass(frozen=True, order=True)
class Destination:
    service: str
    recipient: str


@dataclass
class Subscriptions:
    by_trigger: dict[str, list[Destination]]
    problems: list[str]  # subscriptions naming a trigger or service the configuration lacks


def destinations(
    config: NotificationsConfig,
    labels: Mapping[str, str],
    app_annotations: Mapping[str, str],
    project_annotations: Mapping[str, str],
) -> Subscriptions:
    found: dict[str, list[Destination]] = {}
    problems: list[str] = []
    for subscription in config.subscriptions:
        if subscription.selector is not None and not subscription.selector.matches(labels):
            continue
        for trigger in subscription.triggers or config.default_triggers:
            for service, recipient in subscription.recipients:
                found.setdefault(trigger, []).append(Destination(service, recipient))
    for owner, owner_annotations in (("Application", app_annotations), ("AppProject", project_annotations)):
        for trigger, service, recipients in _annotated(owner_annotations, owner, problems):
            triggers = [trigger] if trigger else list(
                config.service_default_triggers.get(service, config.default_triggers)
            )
            if not triggers:
                problems.append(f"{owner} annotation subscribe.{service}: no trigger named and no defaultTriggers")
            for name in triggers:
                found.setdefault(name, []).extend(Destination(service, r) for r in recipients)
    result: dict[str, list[Destination]] = {}
    for trigger, dests in found.items():
        if trigger not in config.triggers:
            problems.append(f"trigger {trigger!r} is subscribed to but not configured (define trigger.{trigger})")
            continue
        kept = []
        for dest in sorted(set(dests)):
            if dest.service not in config.services:
                problems.append(f"service {dest.service!r} is subscribed to but not configured (define service.*)")
            else:
                kept.append(dest)
        if kept:
            result[trigger] = kept
    return Subscriptions(result, sorted(set(problems)))


def _annotated(
    annotations: Mapping[str, str], owner: str, problems: list[str]
) -> list[tuple[str, str, list[str]]]:
    """(trigger or "", service, recipients) of each subscribe annotation."""
    found = []
    for key, value in sorted(annotations.items()):
        if key.startswith(SUBSCRIBE):
            parts = key[len(SUBSCRIBE) :].split(".")
            trigger, service = (parts[0], parts[1]) if len(parts) >= 2 else ("", parts[0])
            recipients = [""] if value == "" else [r.strip() for r in str(value).split(";") if r.strip()]
            found.append((trigger, service, recipients))
        elif key == SUBSCRIBE_YAML:
            found.extend(_yaml_subscriptions(value, owner, problems))
    return found


def _yaml_subscriptions(text: str, owner: str, problems: list[str]) -> list[tuple[str, str, list[str]]]:
    try:
        entries: Any = yaml.safe_load(text) or []
    except yaml.YAMLError:
        problems.append(f"{owner} annotation {SUBSCRIBE_YAML} is not valid YAML")
        return []
    found = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        for trigger in entry.get("trigger") or []:
            for destination in entry.get("destinations") or []:
                if isinstance(destination, dict):
                    recipients = [str(r) for r in destination.get("recipients") or [""]]
                    found.append((str(trigger), str(destination.get("service") or ""), recipients))
    if not found:
        problems.append(f"{owner} annotation {SUBSCRIBE_YAML} holds no trigger with destinations")
    return found
