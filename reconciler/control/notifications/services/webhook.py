"""`service.webhook.<name>`: a request with a templated method, path and body (Argo CD's webhook
service; how Argo CD users set GitHub commit statuses or call Slack incoming webhooks)."""

from __future__ import annotations

from typing import Any

from reconciler.control.notifications.services.base import ConfigError, DeliveryError, Outgoing, check_keys, truthy
from reconciler.control.notifications.services.outbound import http_request
from reconciler.core.durations import parse_duration
from reconciler.core.outbound import OutboundPolicy

TYPE = "webhook"
OPTIONS = frozenset({"url", "headers", "basicAuth", "insecureSkipVerify", "retryWaitMin", "retryWaitMax", "retryMax"})
TEMPLATE_FIELDS = frozenset({"method", "path", "body"})
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def check(options: dict[str, Any], where: str) -> None:
    check_keys(options, OPTIONS, where, required=("url",))
    for index, header in enumerate(options.get("headers") or []):
        check_keys(header, ("name", "value"), f"{where}.headers[{index}]", required=("name",))
    for name in ("retryWaitMin", "retryWaitMax"):
        if options.get(name) not in (None, ""):
            try:
                parse_duration(options[name])
            except ValueError as exc:
                raise ConfigError(f"{where}.{name}: {exc}") from None
    if options.get("retryMax") not in (None, "") and not str(options["retryMax"]).isdigit():
        raise ConfigError(f"{where}.retryMax: {options['retryMax']!r} is not a whole number")
    if options.get("basicAuth") is not None:
        check_keys(options["basicAuth"], ("username", "password"), f"{where}.basicAuth", required=("username",))


def check_template(block: Any, where: str) -> None:
    """`webhook:` in a template maps each webhook's name to its request."""
    if not isinstance(block, dict):
        raise ConfigError(f"{where} must map webhook names to {{method, path, body}}")
    for name, request in block.items():
        check_keys(request, TEMPLATE_FIELDS, f"{where}.{name}")
        method = str((request or {}).get("method") or "GET")
        if "{{" not in method and method.upper() not in METHODS:
            raise ConfigError(f"{where}.{name}.method: {method!r} is not one of {', '.join(METHODS)}")


def send(options: dict[str, Any], outgoing: Outgoing, policy: OutboundPolicy) -> None:
    request = outgoing.block
    url = str(options["url"])
    path = str(request.get("path") or "")
    if path:
        url = url.rstrip("/") + "/" + path.lstrip("/")
    method = str(request.get("method") or "GET").upper()
    if method not in METHODS:
        raise DeliveryError(f"webhook {outgoing.service}: method {method!r} is not one of {', '.join(METHODS)}",
                            retryable=False)
    headers = {str(h["name"]): str(h.get("value") or "") for h in options.get("headers") or []}
    basic = options.get("basicAuth")
    auth = (str(basic["username"]), str(basic.get("password") or "")) if basic else None
    body = request.get("body")
    http_request(
        method,
        url,
        policy=policy,
        headers=headers,
        body=str(body).encode() if body else None,
        auth=auth,
        verify=not truthy(options.get("insecureSkipVerify")),
    )
