"""What every notification service module shares: the rendered notification it sends, its
errors, and the checks of its options and template fields when the configuration loads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.errors import InputError, ReconcilerError


class ConfigError(InputError, ValueError):
    """The notifications configuration cannot be used; the message names the key and field."""


class DeliveryError(ReconcilerError):
    """A notification was not delivered. `retryable`: a later attempt may succeed (the service
    is down or answered 5xx/429), rather than the request itself being wrong (4xx)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Outgoing:
    """One notification for one recipient of one service, its templates rendered.

    `block` is the template's part for this service (`slack:`, `email:`, the `webhook:` entry
    of this webhook's name, ...), every string in it rendered; `message` the common text."""

    service: str
    service_type: str
    recipient: str
    message: str
    block: Mapping[str, Any] = field(default_factory=dict)


def check_keys(value: Any, allowed: Iterable[str], where: str, *, required: Iterable[str] = ()) -> dict[str, Any]:
    """`value` as a map with only `allowed` keys and every `required` one; else ConfigError."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a map")
    allowed = set(allowed)
    unknown = sorted(str(key) for key in value if key not in allowed)
    if unknown:
        raise ConfigError(
            f"{where}: field(s) {', '.join(unknown)} not supported here (supported: {', '.join(sorted(allowed))})"
        )
    missing = [key for key in required if value.get(key) in (None, "")]
    if missing:
        raise ConfigError(f"{where}: {', '.join(missing)} is required")
    return value


def json_field(block: Mapping[str, Any], name: str, where: str) -> Any:
    """A template field that holds JSON text (Slack attachments, Teams facts, ...), parsed;
    None when empty. Invalid JSON is an error naming the field, not a silently dropped part."""
    text = block.get(name)
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DeliveryError(f"{where}.{name} did not render to valid JSON: {exc}", retryable=False) from None


def truthy(value: Any) -> bool:
    """A YAML flag that may also be the text `"true"` (options are often quoted in ConfigMaps)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "on")
    return bool(value)
