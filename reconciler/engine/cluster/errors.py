"""Errors of cluster access: each names the object and says what the API server answered."""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import DynamicApiError

from reconciler.core.errors import ReconcilerError
from reconciler.model.resources import ResourceKey

# Answers that may change by themselves: a conflict, throttling, the server's own trouble.
TRANSIENT_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class KubeError(ReconcilerError):
    """A request to the cluster failed; `status`/`reason` are the API server's when it answered.
    Retryable when it did not answer, or answered a conflict, throttling or a 5xx."""

    def __init__(self, message: str, *, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return self.status is None or self.status in TRANSIENT_STATUSES


class UnknownKindError(KubeError):
    """The cluster serves no such apiVersion/kind (a typo, or a CRD not installed yet)."""


def server_message(exc: DynamicApiError | ApiException) -> tuple[str, int | None, str]:
    status = getattr(exc, "status", None)
    message, reason = status_message(getattr(exc, "body", None), str(getattr(exc, "reason", "") or exc))
    return message, status, reason


def status_message(body: bytes | str | None, fallback: str) -> tuple[str, str]:
    """The message and reason of the Status object an API server answers an error with."""
    try:
        parsed = json.loads(body) if body else {}
    except (TypeError, ValueError):
        parsed = {}
    if not isinstance(parsed, dict):
        parsed = {}
    return str(parsed.get("message") or fallback), str(parsed.get("reason") or "")


def describe_object(obj_or_key: dict[str, Any] | ResourceKey) -> str:
    key = obj_or_key if isinstance(obj_or_key, ResourceKey) else ResourceKey.of(obj_or_key)
    return str(key)


