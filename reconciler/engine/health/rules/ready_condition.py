"""The pattern most operators follow: one condition sums the object up, True or False.

Shared by the built-in checks for cert-manager, External Secrets and Sealed Secrets, whose
controllers each write such a condition (`Ready`, or `Synced` for Sealed Secrets). A
condition written for an older generation of the spec describes the past, so it is not
believed; neither is a status the controller has not written yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.engine.health.rules.fields import condition, int_at, str_at, value_at
from reconciler.engine.health.rules.model import Health, HealthStatus


def not_yet_observed(obj: Mapping[str, Any], found: Mapping[str, Any] | None = None) -> Health | None:
    """Progressing when the controller has not seen the latest spec (status-wide or in `found`)."""
    generation = int_at(obj, "metadata.generation")
    for source, path in ((obj, "status.observedGeneration"), (found or {}, "observedGeneration")):
        if value_at(source, path) is None:
            continue
        observed = int_at(source, path)
        if observed < generation:
            return Health(
                HealthStatus.Progressing,
                f"Waiting for the controller to observe generation {generation} (observed {observed})",
            )
    return None


def condition_health(obj: Mapping[str, Any], kind: str, waiting: str) -> Health:
    """Healthy / Degraded by the condition `kind`; Progressing with `waiting` while it is absent or Unknown."""
    found = condition(obj, kind)
    if (stale := not_yet_observed(obj, found)) is not None:
        return stale
    if found is None:
        return Health(HealthStatus.Progressing, waiting)
    status, message = str_at(found, "status"), str_at(found, "message")
    if status == "True":
        return Health(HealthStatus.Healthy, message)
    if status == "False":
        return Health(HealthStatus.Degraded, message or str_at(found, "reason"))
    return Health(HealthStatus.Progressing, message or waiting)
