"""HorizontalPodAutoscaler health from its conditions (autoscaling/v2), or from the
annotation autoscaling/v1 objects carry them in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.engine.health.rules.fields import MalformedStatus, map_at, maps_at, str_at
from reconciler.engine.health.rules.model import Health, HealthStatus

V1_CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
WAITING = Health(HealthStatus.Progressing, "Waiting to Autoscale")

# (condition type, reason) pairs the HPA controller writes when it cannot do its job.
# Argo CD lists the first four; the other metric-source failures are the same fault.
FAILING = frozenset(
    {
        ("AbleToScale", "FailedGetScale"),
        ("AbleToScale", "FailedUpdateScale"),
        ("ScalingActive", "FailedGetResourceMetric"),
        ("ScalingActive", "InvalidSelector"),
        ("ScalingActive", "FailedGetContainerResourceMetric"),
        ("ScalingActive", "FailedGetObjectMetric"),
        ("ScalingActive", "FailedGetPodsMetric"),
        ("ScalingActive", "FailedGetExternalMetric"),
        ("ScalingActive", "InvalidMetricSourceType"),
    }
)
# A True condition of one of these types shows the controller is working.
HEALTHY_TYPES = frozenset({"AbleToScale", "ScalingLimited"})


def _v1_conditions(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    path = f"metadata.annotations.{V1_CONDITIONS_ANNOTATION}"
    # The key holds dots, so it cannot be part of a dotted path.
    raw = map_at(obj, "metadata.annotations").get(V1_CONDITIONS_ANNOTATION)
    if raw is None:
        return []
    if not isinstance(raw, str):
        raise MalformedStatus(path, "a JSON string", raw)
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        raise MalformedStatus(path, "a JSON list of conditions", raw, got_text="invalid JSON") from None
    return maps_at({"conditions": parsed}, "conditions")


def hpa_health(obj: dict[str, Any]) -> Health:
    if str_at(obj, "apiVersion") == "autoscaling/v1":
        conditions = _v1_conditions(obj)
    else:
        conditions = maps_at(obj, "status.conditions")
    # A failing condition anywhere wins, even after a healthy one (metrics can fail while
    # the scale subresource still answers).
    for item in conditions:
        if (str_at(item, "type"), str_at(item, "reason")) in FAILING:
            return Health(HealthStatus.Degraded, str_at(item, "message").strip())
    for item in conditions:
        if str_at(item, "type") in HEALTHY_TYPES and str_at(item, "status") == "True":
            return Health(HealthStatus.Healthy, str_at(item, "message"))
    return WAITING
