"""Argo CD `Application` (argoproj.io/v1alpha1) as a resource of another app (app of apps).

Its controller writes the child's own health into `status.health` (`status`, `message`);
that is the child's health as a resource of the parent, so a Degraded child makes its
parent Degraded. Until a controller has written it, the child is Progressing.
"""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import str_at
from reconciler.engine.health.rules.model import Health, HealthStatus


def application_health(obj: dict[str, Any]) -> Health:
    status = str_at(obj, "status.health.status")
    if not status:
        return Health(HealthStatus.Progressing, "Waiting for application to be reconciled")
    try:
        return Health(HealthStatus(status), str_at(obj, "status.health.message"))
    except ValueError:
        return Health(HealthStatus.Unknown, f"status.health.status {status!r} is not an Argo CD health status")
