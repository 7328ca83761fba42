"""ReplicaSet health: enough available replicas, and no ReplicaFailure (quota, admission)."""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import condition, int_at, str_at
from reconciler.engine.health.rules.model import Health, HealthStatus


def replicaset_health(obj: dict[str, Any]) -> Health:
    if int_at(obj, "metadata.generation") > int_at(obj, "status.observedGeneration"):
        return Health(
            HealthStatus.Progressing,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        )
    failure = condition(obj, "ReplicaFailure")
    if failure is not None and str_at(failure, "status") == "True":
        return Health(HealthStatus.Degraded, str_at(failure, "message") or str_at(failure, "reason"))
    desired = int_at(obj, "spec.replicas", 1)
    available = int_at(obj, "status.availableReplicas")
    if available < desired:
        return Health(
            HealthStatus.Progressing,
            f"Waiting for rollout to finish: {available} out of {desired} new replicas are available...",
        )
    return Health(HealthStatus.Healthy)
