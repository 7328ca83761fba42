"""`service.opsgenie`: an Opsgenie alert for a team (`apiKeys` by team name; `apiUrl` as
api.opsgenie.com or api.eu.opsgenie.com), as Argo CD's opsgenie service."""

from __future__ import annotations

import json
from typing import Any

from reconciler.control.notifications.services.base import ConfigError, DeliveryError, Outgoing, check_keys
from reconciler.control.notifications.services.outbound import http_request
from reconciler.core.outbound import OutboundPolicy

TYPE = "opsgenie"
OPTIONS = frozenset({"apiUrl", "apiKeys"})
TEMPLATE_FIELDS = frozenset(
    {"description", "priority", "alias", "note", "actions", "tags", "entity", "user", "details"}
)
MESSAGE_LIMIT = 130  # Opsgenie's limit for an alert's message


def check(options: dict[str, Any], where: str) -> None:
    check_keys(options, OPTIONS, where, required=("apiUrl", "apiKeys"))
    if not isinstance(options["apiKeys"], dict):
        raise ConfigError(f"{where}.apiKeys must map team names to API keys")


def check_template(block: Any, where: str) -> None:
    check_keys(block, TEMPLATE_FIELDS, where)


def send(options: dict[str, Any], outgoing: Outgoing, policy: OutboundPolicy) -> None:
    keys = options["apiKeys"]
    if outgoing.recipient not in keys:
        raise DeliveryError(f"opsgenie {outgoing.service}: no API key for team {outgoing.recipient!r}", retryable=False)
    block = outgoing.block
    alert: dict[str, Any] = {
        "message": outgoing.message.strip()[:MESSAGE_LIMIT],
        "description": block.get("description") or outgoing.message,
        "responders": [{"type": "team", "name": outgoing.recipient}],
    }
    for name in ("priority", "alias", "note", "entity", "user"):
        if block.get(name):
            alert[name] = block[name]
    for name in ("actions", "tags"):
        if block.get(name):
            value = block[name]
            alert[name] = [item.strip() for item in value.split(",")] if isinstance(value, str) else list(value)
    if block.get("details"):
        alert["details"] = dict(block["details"])
    base = str(options["apiUrl"]).rstrip("/")
    if not base.startswith(("http://", "https://")):
        base = "https://" + base
    http_request("POST", f"{base}/v2/alerts", policy=policy,
                 headers={"Authorization": f"GenieKey {keys[outgoing.recipient]}", "Content-Type": "application/json"},
                 body=json.dumps(alert))
