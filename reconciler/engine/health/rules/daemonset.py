"""DaemonSet health: every scheduled node runs an updated, available pod."""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import int_at, str_at
from reconciler.engine.health.rules.model import Health, HealthStatus


def daemonset_health(obj: dict[str, Any]) -> Health:
    if int_at(obj, "metadata.generation") > int_at(obj, "status.observedGeneration"):
        return Health(
            HealthStatus.Progressing,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        )
    desired = int_at(obj, "status.desiredNumberScheduled")
    updated = int_at(obj, "status.updatedNumberScheduled")
    if str_at(obj, "spec.updateStrategy.type") == "OnDelete":
        # Old pods stay until someone deletes them, by design: not a rollout in progress.
        return Health(HealthStatus.Healthy, f"daemon set {updated} out of {desired} new pods have been updated")
    name = str_at(obj, "metadata.name")
    if updated < desired:
        return Health(
            HealthStatus.Progressing,
            f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} new pods '
            "have been updated...",
        )
    available = int_at(obj, "status.numberAvailable")
    if available < desired:
        return Health(
            HealthStatus.Progressing,
            f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} updated pods '
            "are available...",
        )
    return Health(HealthStatus.Healthy)
