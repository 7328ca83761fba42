"""CustomResourceDefinition health: names accepted, established, structural schema."""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import condition, maps_at, str_at
from reconciler.engine.health.rules.model import Health, HealthStatus


def _message(obj: dict[str, Any], kind: str) -> str:
    found = condition(obj, kind)
    return str_at(found, "message") if found is not None else ""


def _is(obj: dict[str, Any], kind: str, status: str) -> bool:
    found = condition(obj, kind)
    return found is not None and str_at(found, "status") == status


def crd_health(obj: dict[str, Any]) -> Health:
    if not maps_at(obj, "status.conditions"):
        return Health(HealthStatus.Progressing, "Status conditions not found")
    if _is(obj, "Terminating", "True"):
        return Health(HealthStatus.Progressing, f"CRD is being terminated: {_message(obj, 'Terminating')}")
    if _is(obj, "NamesAccepted", "False"):
        return Health(HealthStatus.Degraded, f"CRD names have not been accepted: {_message(obj, 'NamesAccepted')}")
    if not _is(obj, "Established", "True"):
        # Argo CD says Degraded here, but right after a create the API server reports
        # Established=False ("Installing") for a moment; waiting is the honest answer and
        # a CRD that never establishes still blocks the next sync wave.
        return Health(HealthStatus.Progressing, f"CRD is not established yet: {_message(obj, 'Established')}")
    if _is(obj, "NonStructuralSchema", "True"):
        return Health(HealthStatus.Degraded, f"Schema violations found: {_message(obj, 'NonStructuralSchema')}")
    return Health(HealthStatus.Healthy, "CRD is healthy")
