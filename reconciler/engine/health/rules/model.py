"""The values a health check produces: a status from a fixed set, and a message for people."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class HealthStatus(StrEnum):
    """Argo CD's health codes; the values are the strings Argo CD shows and stores.

    A StrEnum (a `str, Enum`): members compare equal to their strings and format as them.
    """

    Healthy = "Healthy"
    Suspended = "Suspended"
    Progressing = "Progressing"
    Missing = "Missing"
    Degraded = "Degraded"
    Unknown = "Unknown"


@dataclass(frozen=True)
class Health:
    """The health of one object (or of an application: its worst object)."""

    status: HealthStatus
    message: str = ""

    def as_dict(self) -> dict[str, str]:
        """Plain data for JSON and Redis: {"status": "Healthy", "message": ""}."""
        return {"status": self.status.value, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Health:
        """Inverse of `as_dict`; raises ValueError naming the bad status."""
        raw = data.get("status")
        try:
            status = HealthStatus(raw)
        except ValueError:
            known = ", ".join(s.value for s in HealthStatus)
            raise ValueError(f"health status {raw!r} is not one of: {known}") from None
        return cls(status, str(data.get("message") or ""))


# A rule reads one live object and returns its health. It may raise MalformedStatus
# for a field of the wrong shape; `reconciler.health.assess` turns that into Unknown.
Rule = Callable[[dict[str, Any]], Health]
