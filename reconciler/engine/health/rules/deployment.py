"""Deployment health, as `kubectl rollout status` and Argo CD judge a rollout."""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import bool_at, condition, int_at, str_at
from reconciler.engine.health.rules.model import Health, HealthStatus


def deployment_health(obj: dict[str, Any]) -> Health:
    if bool_at(obj, "spec.paused"):
        return Health(HealthStatus.Suspended, "Deployment is paused")
    # Until the controller has seen the current spec, every other status field
    # describes an older revision and proves nothing.
    if int_at(obj, "metadata.generation") > int_at(obj, "status.observedGeneration"):
        return Health(
            HealthStatus.Progressing,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        )
    progressing = condition(obj, "Progressing")
    if progressing is not None and str_at(progressing, "reason") == "ProgressDeadlineExceeded":
        name = str_at(obj, "metadata.name")
        return Health(HealthStatus.Degraded, f'Deployment "{name}" exceeded its progress deadline')
    # The API server defaults spec.replicas to 1; an object without it has not been stored yet.
    desired = int_at(obj, "spec.replicas", 1)
    replicas = int_at(obj, "status.replicas")
    updated = int_at(obj, "status.updatedReplicas")
    available = int_at(obj, "status.availableReplicas")
    if updated < desired:
        return Health(
            HealthStatus.Progressing,
            f"Waiting for rollout to finish: {updated} out of {desired} new replicas have been updated...",
        )
    if replicas > updated:
        return Health(
            HealthStatus.Progressing,
            f"Waiting for rollout to finish: {replicas - updated} old replicas are pending termination...",
        )
    if available < updated:
        return Health(
            HealthStatus.Progressing,
            f"Waiting for rollout to finish: {available} of {updated} updated replicas are available...",
        )
    return Health(HealthStatus.Healthy)
