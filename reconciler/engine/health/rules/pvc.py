"""PersistentVolumeClaim health from its phase."""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import str_at
from reconciler.engine.health.rules.model import Health, HealthStatus


def pvc_health(obj: dict[str, Any]) -> Health:
    # The API server writes phase Pending on create; an absent phase reads the same.
    phase = str_at(obj, "status.phase", "Pending")
    if phase == "Bound":
        return Health(HealthStatus.Healthy)
    if phase == "Pending":
        return Health(HealthStatus.Progressing, "Waiting for the claim to be bound to a volume")
    if phase == "Lost":
        volume = str_at(obj, "spec.volumeName")
        return Health(HealthStatus.Degraded, f'The bound volume "{volume}" no longer exists; the claim is lost')
    return Health(HealthStatus.Unknown, f'PersistentVolumeClaim phase is "{phase}"')
