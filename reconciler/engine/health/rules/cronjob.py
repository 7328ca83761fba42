"""CronJob health, after Argo CD's built-in Lua check (resource_customizations/batch/CronJob).

A CronJob's status only says when it last scheduled and last succeeded, so the check is
deliberately lenient: only "the last run finished and did not succeed" is Degraded.
"""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import bool_at, list_at, time_at
from reconciler.engine.health.rules.model import Health, HealthStatus


def cronjob_health(obj: dict[str, Any]) -> Health:
    if bool_at(obj, "spec.suspend"):
        return Health(HealthStatus.Suspended, "CronJob is Suspended")
    # A real server always returns `status: {}`; an absent status reads the same (Argo CD
    # says Progressing "Waiting for CronJob" there, which would block sync waves forever).
    last_schedule = time_at(obj, "status.lastScheduleTime")
    if last_schedule is None:
        return Health(HealthStatus.Healthy, "CronJob has not been scheduled yet")
    last_success = time_at(obj, "status.lastSuccessfulTime")
    if last_success is None:
        # Either the first run is still going or no run ever succeeded: status cannot tell.
        return Health(HealthStatus.Healthy, "The CronJob never completed successfully. It may not be healthy")
    if list_at(obj, "status.active"):
        return Health(HealthStatus.Healthy, "The job is running. Its last execution may not have been successful")
    if last_success < last_schedule:
        return Health(HealthStatus.Degraded, "CronJob has not completed its last execution successfully")
    return Health(HealthStatus.Healthy, "CronJob has completed its last execution successfully")
