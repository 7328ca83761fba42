"""Argo Rollouts `Rollout` (argoproj.io/v1alpha1), read as Argo CD reads it.

The status fields are the Rollouts controller's: `observedGeneration` (a string of digits
in its API), conditions `InvalidSpec` and `Progressing` (reasons RolloutAborted,
ProgressDeadlineExceeded), `pauseConditions`, `currentPodHash`, replica counts, `stableRS`
and, for blue-green, `blueGreen.activeSelector`. A Rollout no controller has seen yet has
no status and is Progressing, never Healthy.
"""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import (
    MalformedStatus,
    bool_at,
    int_at,
    map_at,
    maps_at,
    str_at,
    value_at,
)
from reconciler.engine.health.rules.model import Health, HealthStatus

_NOT_OBSERVED = "Waiting for rollout spec update to be observed"
_DEGRADING_REASONS = ("RolloutAborted", "ProgressDeadlineExceeded")


def _observed_generation(obj: dict[str, Any]) -> int | None:
    raw = value_at(obj, "status.observedGeneration")
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    # Old controllers wrote a hash here: it says nothing about the generation.
    if isinstance(raw, str):
        return None
    raise MalformedStatus("status.observedGeneration", "a string of digits", raw)


def _paused(obj: dict[str, Any]) -> Health | None:
    reasons = [str_at(c, "reason") for c in maps_at(obj, "status.pauseConditions")]
    if reasons:
        return Health(HealthStatus.Suspended, "Rollout is paused: " + ", ".join(r for r in reasons if r))
    if bool_at(obj, "spec.paused"):
        return Health(HealthStatus.Suspended, "Rollout is paused")
    return None


def _replicas(obj: dict[str, Any]) -> Health | None:
    desired = int_at(obj, "spec.replicas", 1)
    updated = int_at(obj, "status.updatedReplicas")
    available = int_at(obj, "status.availableReplicas")
    if updated < desired:
        return Health(HealthStatus.Progressing, "Waiting for roll out to finish: More replicas need to be updated")
    if available < updated:
        return Health(
            HealthStatus.Progressing, "Waiting for roll out to finish: updated replicas are still becoming available"
        )
    return None


def _strategy(obj: dict[str, Any], pod_hash: str) -> Health | None:
    # Rollouts v0.8 moved status.canary.stableRS to status.stableRS; read either.
    stable = str_at(obj, "status.stableRS") or str_at(obj, "status.canary.stableRS")
    if map_at(obj, "spec.strategy").get("blueGreen") is not None:
        if str_at(obj, "status.blueGreen.activeSelector") != pod_hash:
            return Health(HealthStatus.Progressing, "active service cutover pending")
        if stable and stable != pod_hash:
            return Health(HealthStatus.Progressing, "waiting for analysis to complete")
    elif map_at(obj, "spec.strategy").get("canary") is not None:
        if int_at(obj, "status.replicas") > int_at(obj, "status.updatedReplicas"):
            return Health(
                HealthStatus.Progressing, "Waiting for roll out to finish: old replicas are pending termination"
            )
        if stable != pod_hash:
            return Health(HealthStatus.Progressing, "Waiting for rollout to finish steps")
    return None


def rollout_health(obj: dict[str, Any]) -> Health:
    if value_at(obj, "status.observedGeneration") is None:
        return Health(HealthStatus.Progressing, _NOT_OBSERVED)
    observed = _observed_generation(obj)
    if observed is not None and observed != int_at(obj, "metadata.generation"):
        return Health(HealthStatus.Progressing, _NOT_OBSERVED)
    for found in maps_at(obj, "status.conditions"):
        kind, reason = str_at(found, "type"), str_at(found, "reason")
        if kind == "InvalidSpec" or (kind == "Progressing" and reason in _DEGRADING_REASONS):
            return Health(HealthStatus.Degraded, str_at(found, "message") or reason or kind)
    if (paused := _paused(obj)) is not None:
        return paused
    pod_hash = str_at(obj, "status.currentPodHash")
    if not pod_hash:
        return Health(HealthStatus.Progressing, "Waiting for rollout to finish: status has not been reconciled.")
    return _replicas(obj) or _strategy(obj, pod_hash) or Health(HealthStatus.Healthy)
