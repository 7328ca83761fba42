"""Health of any object by the common status conventions, for kinds without their own rule.

Most operators follow the Kubernetes API conventions: `status.observedGeneration` tells
whether the controller has seen the latest spec, and a `Ready` (or `Available`)
condition sums up the result. Operators built on kstatus (Flux, cli-utils) also write
`Reconciling` and `Stalled`; those are read first since they are the more specific.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.engine.health.rules.fields import condition, int_at, str_at, value_at
from reconciler.engine.health.rules.model import Health, HealthStatus


def _message(found: Mapping[str, Any]) -> str:
    return str_at(found, "message") or str_at(found, "reason")


def conditions_health(obj: dict[str, Any]) -> Health | None:
    """Health from conventional status fields, or None when the object has none of them."""
    if value_at(obj, "status.observedGeneration") is not None:
        observed = int_at(obj, "status.observedGeneration")
        generation = int_at(obj, "metadata.generation")
        if observed < generation:
            return Health(
                HealthStatus.Progressing,
                f"Waiting for the controller to observe generation {generation} (observed {observed})",
            )
    stalled = condition(obj, "Stalled")
    if stalled is not None and str_at(stalled, "status") == "True":
        return Health(HealthStatus.Degraded, _message(stalled))
    reconciling = condition(obj, "Reconciling")
    if reconciling is not None and str_at(reconciling, "status") == "True":
        return Health(HealthStatus.Progressing, _message(reconciling))
    summary = condition(obj, "Ready") or condition(obj, "Available")
    if summary is None:
        return None
    status = str_at(summary, "status")
    if status == "True":
        return Health(HealthStatus.Healthy, str_at(summary, "message"))
    if status == "False":
        return Health(HealthStatus.Degraded, _message(summary))
    return Health(HealthStatus.Progressing, _message(summary))
