"""Job health from the conditions the Job controller writes (Failed, Complete, Suspended)."""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import bool_at, condition, int_at, str_at
from reconciler.engine.health.rules.model import Health, HealthStatus


def job_health(obj: dict[str, Any]) -> Health:
    failed = condition(obj, "Failed")
    if failed is not None and str_at(failed, "status") == "True":
        return Health(HealthStatus.Degraded, str_at(failed, "message") or str_at(failed, "reason") or "Job failed")
    complete = condition(obj, "Complete")
    if complete is not None and str_at(complete, "status") == "True":
        return Health(HealthStatus.Healthy, str_at(complete, "message"))
    suspended = condition(obj, "Suspended")
    if suspended is not None and str_at(suspended, "status") == "True":
        return Health(HealthStatus.Suspended, str_at(suspended, "message") or "Job suspended")
    # spec.suspend set but not yet observed by the controller: it will stop, not run.
    if suspended is None and bool_at(obj, "spec.suspend"):
        return Health(HealthStatus.Suspended, "Job suspended")
    active = int_at(obj, "status.active")
    succeeded = int_at(obj, "status.succeeded")
    return Health(HealthStatus.Progressing, f"Job is running: {active} active, {succeeded} succeeded")
