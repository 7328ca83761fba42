"""`service.teams`: a Microsoft Teams incoming webhook per channel (`recipientUrls`), posting an
Office 365 MessageCard (Argo CD's teams service). The template's `teams:` part sets the card."""

from __future__ import annotations

import json
from typing import Any

from reconciler.control.notifications.services.base import (
    ConfigError,
    DeliveryError,
    Outgoing,
    check_keys,
    json_field,
)
from reconciler.control.notifications.services.outbound import http_request
from reconciler.core.outbound import OutboundPolicy

TYPE = "teams"
OPTIONS = frozenset({"recipientUrls"})
TEMPLATE_FIELDS = frozenset(
    {"template", "title", "summary", "text", "sections", "facts", "potentialAction", "themeColor"}
)


def check(options: dict[str, Any], where: str) -> None:
    check_keys(options, OPTIONS, where, required=("recipientUrls",))
    if not isinstance(options["recipientUrls"], dict):
        raise ConfigError(f"{where}.recipientUrls must map channel names to webhook URLs")


def check_template(block: Any, where: str) -> None:
    check_keys(block, TEMPLATE_FIELDS, where)


def card(outgoing: Outgoing) -> dict[str, Any]:
    block, where = outgoing.block, f"template teams part for {outgoing.service}"
    whole = json_field(block, "template", where)
    if whole is not None:
        return dict(whole)
    message: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "title": block.get("title") or "",
        "summary": block.get("summary") or block.get("title") or outgoing.message[:100],
        "text": block.get("text") or outgoing.message,
    }
    if block.get("themeColor"):
        message["themeColor"] = block["themeColor"]
    sections = json_field(block, "sections", where) or []
    facts = json_field(block, "facts", where)
    if facts is not None:
        sections = [*sections, {"facts": facts}]
    if sections:
        message["sections"] = sections
    actions = json_field(block, "potentialAction", where)
    if actions is not None:
        message["potentialAction"] = actions
    return message


def send(options: dict[str, Any], outgoing: Outgoing, policy: OutboundPolicy) -> None:
    urls = options["recipientUrls"]
    if outgoing.recipient not in urls:
        raise DeliveryError(
            f"teams {outgoing.service}: no webhook URL for channel {outgoing.recipient!r} "
            f"(recipientUrls has: {', '.join(sorted(map(str, urls))) or 'none'})",
            retryable=False,
        )
    http_request("POST", str(urls[outgoing.recipient]), policy=policy,
                 headers={"Content-Type": "application/json"}, body=json.dumps(card(outgoing)))
