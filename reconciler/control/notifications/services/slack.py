"""`service.slack`: chat.postMessage with a bot token (Argo CD's slack service), or an incoming
webhook (`webhookURL`, an addition: Argo CD users call those through the webhook service).
The template's `slack:` part adds `attachments` and `blocks` (JSON text)."""

from __future__ import annotations

import json
from typing import Any

from reconciler.control.notifications.services.base import (
    ConfigError,
    DeliveryError,
    Outgoing,
    check_keys,
    json_field,
    truthy,
)
from reconciler.control.notifications.services.outbound import http_request
from reconciler.core.outbound import OutboundPolicy

TYPE = "slack"
OPTIONS = frozenset(
    {"token", "apiURL", "username", "icon", "insecureSkipVerify", "signingSecret", "channels", "disableUnfurl",
     "webhookURL"}
)
TEMPLATE_FIELDS = frozenset({"attachments", "blocks", "groupingKey", "notifyBroadcast", "deliveryPolicy"})
DEFAULT_API_URL = "https://slack.com/api/"


def check(options: dict[str, Any], where: str) -> None:
    check_keys(options, OPTIONS, where)
    if not options.get("token") and not options.get("webhookURL"):
        raise ConfigError(f"{where}: set token (a bot token, for chat.postMessage) or webhookURL (an incoming webhook)")


def check_template(block: Any, where: str) -> None:
    block = check_keys(block, TEMPLATE_FIELDS, where)
    # Threads (groupingKey) and message updates need the posted message's ts kept per key.
    if str(block.get("groupingKey") or "").strip():
        raise ConfigError(f"{where}.groupingKey: threads by grouping key are not supported; leave it empty")
    if truthy(block.get("notifyBroadcast")):
        raise ConfigError(f"{where}.notifyBroadcast: only meaningful with threads (groupingKey), not supported")
    policy = str(block.get("deliveryPolicy") or "Post")
    if policy != "Post":
        raise ConfigError(f"{where}.deliveryPolicy: {policy!r} is not supported; only Post")


def send(options: dict[str, Any], outgoing: Outgoing, policy: OutboundPolicy) -> None:
    where = f"template slack part for {outgoing.service}"
    payload: dict[str, Any] = {"text": outgoing.message}
    for name in ("attachments", "blocks"):
        value = json_field(outgoing.block, name, where)
        if value is not None:
            payload[name] = value
    if options.get("username"):
        payload["username"] = str(options["username"])
    icon = str(options.get("icon") or "")
    if icon:
        payload["icon_url" if icon.startswith(("http://", "https://")) else "icon_emoji"] = icon
    if truthy(options.get("disableUnfurl")):
        payload["unfurl_links"] = payload["unfurl_media"] = False
    verify = not truthy(options.get("insecureSkipVerify"))
    if options.get("token"):
        _post_message(options, payload, outgoing, policy, verify)
        return
    if outgoing.recipient:
        payload["channel"] = outgoing.recipient
    http_request("POST", str(options["webhookURL"]), policy=policy,
                 headers={"Content-Type": "application/json"}, body=json.dumps(payload), verify=verify)


def _post_message(
    options: dict[str, Any], payload: dict[str, Any], outgoing: Outgoing, policy: OutboundPolicy, verify: bool
) -> None:
    if not outgoing.recipient:
        raise DeliveryError(f"slack {outgoing.service}: no channel: subscribe with the channel as recipient",
                            retryable=False)
    url = str(options.get("apiURL") or DEFAULT_API_URL).rstrip("/") + "/chat.postMessage"
    response = http_request(
        "POST",
        url,
        policy=policy,
        headers={"Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {options['token']}"},
        body=json.dumps({**payload, "channel": outgoing.recipient}),
        verify=verify,
    )
    try:
        answer = json.loads(response.text or "{}")
    except ValueError:
        answer = {}
    if not answer.get("ok"):  # Slack answers 200 with ok: false and the reason
        error = str(answer.get("error") or "no ok in the answer")
        retryable = error in ("ratelimited", "service_unavailable", "request_timeout", "fatal_error", "internal_error")
        raise DeliveryError(f"slack chat.postMessage to {outgoing.recipient}: {error}", retryable=retryable)
