"""`service.pagerdutyv2`: a PagerDuty Events API v2 event per service (`serviceKeys` by service
name), as Argo CD's pagerdutyv2 service; `apiURL` (an addition) points elsewhere than PagerDuty."""

from __future__ import annotations

import json
from typing import Any

from reconciler.control.notifications.services.base import ConfigError, DeliveryError, Outgoing, check_keys
from reconciler.control.notifications.services.outbound import http_request
from reconciler.core.outbound import OutboundPolicy

TYPE = "pagerdutyv2"
OPTIONS = frozenset({"serviceKeys", "apiURL"})
TEMPLATE_FIELDS = frozenset({"summary", "severity", "source", "component", "group", "class", "url"})
DEFAULT_API_URL = "https://events.pagerduty.com"
SEVERITIES = ("critical", "error", "warning", "info")


def check(options: dict[str, Any], where: str) -> None:
    check_keys(options, OPTIONS, where, required=("serviceKeys",))
    if not isinstance(options["serviceKeys"], dict):
        raise ConfigError(f"{where}.serviceKeys must map service names to integration keys")


def check_template(block: Any, where: str) -> None:
    check_keys(block, TEMPLATE_FIELDS, where, required=("summary", "severity", "source"))


def send(options: dict[str, Any], outgoing: Outgoing, policy: OutboundPolicy) -> None:
    keys = options["serviceKeys"]
    if outgoing.recipient not in keys:
        raise DeliveryError(f"pagerdutyv2 {outgoing.service}: no key for service {outgoing.recipient!r}",
                            retryable=False)
    block = outgoing.block
    severity = str(block.get("severity") or "")
    if severity not in SEVERITIES:
        raise DeliveryError(f"pagerdutyv2: severity {severity!r} is not one of {', '.join(SEVERITIES)}",
                            retryable=False)
    payload = {"summary": block.get("summary"), "severity": severity, "source": block.get("source")}
    payload.update({name: block[name] for name in ("component", "group", "class") if block.get(name)})
    event: dict[str, Any] = {"routing_key": keys[outgoing.recipient], "event_action": "trigger", "payload": payload}
    if block.get("url"):
        event["links"] = [{"href": block["url"], "text": "View in the reconciler"}]
    base = str(options.get("apiURL") or DEFAULT_API_URL).rstrip("/")
    http_request("POST", f"{base}/v2/enqueue", policy=policy,
                 headers={"Content-Type": "application/json"}, body=json.dumps(event))
