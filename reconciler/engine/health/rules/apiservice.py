"""APIService health: the aggregator's Available condition."""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import condition, str_at
from reconciler.engine.health.rules.model import Health, HealthStatus


def apiservice_health(obj: dict[str, Any]) -> Health:
    available = condition(obj, "Available")
    if available is None:
        return Health(HealthStatus.Progressing, "Waiting to be processed")
    message = f"{str_at(available, 'reason')}: {str_at(available, 'message')}"
    if str_at(available, "status") == "True":
        return Health(HealthStatus.Healthy, message)
    # As Argo CD: an unavailable backend (pods starting, service not ready) is usually
    # transient, so Progressing rather than Degraded.
    return Health(HealthStatus.Progressing, message)
