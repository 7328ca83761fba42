"""Namespace health from its phase."""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import str_at
from reconciler.engine.health.rules.model import Health, HealthStatus


def namespace_health(obj: dict[str, Any]) -> Health:
    phase = str_at(obj, "status.phase", "Active")
    if phase == "Terminating":
        return Health(HealthStatus.Progressing, "Namespace is terminating")
    if phase == "Active":
        return Health(HealthStatus.Healthy)
    return Health(HealthStatus.Unknown, f'Namespace phase is "{phase}"')
