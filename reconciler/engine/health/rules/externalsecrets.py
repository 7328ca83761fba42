"""External Secrets Operator: `ExternalSecret`, `SecretStore` and `ClusterSecretStore`.

Each carries a `Ready` condition (external-secrets.io/v1beta1 and v1 status): for an
ExternalSecret, True once the target Secret is synced from the provider (reason
SecretSynced), False on SecretSyncedError; for a store, True once the provider
configuration is validated, False with InvalidProviderConfig / ValidationFailed.

With `spec.refreshPolicy: OnChange` an ExternalSecret is only synced again when its spec
changes; a Ready condition older than `status.refreshTime` then describes the previous
sync, as Argo CD's own check considers.
"""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import condition, str_at, time_at
from reconciler.engine.health.rules.model import Health, HealthStatus
from reconciler.engine.health.rules.ready_condition import condition_health

_WAITING_FOR_SYNC = "Waiting for the ExternalSecret to be synced"


def externalsecret_health(obj: dict[str, Any]) -> Health:
    if str_at(obj, "spec.refreshPolicy") == "OnChange":
        ready = condition(obj, "Ready")
        refreshed = time_at(obj, "status.refreshTime")
        changed = time_at(ready, "lastTransitionTime") if ready is not None else None
        if refreshed is not None and changed is not None and changed < refreshed:
            return Health(HealthStatus.Progressing, _WAITING_FOR_SYNC)
    return condition_health(obj, "Ready", _WAITING_FOR_SYNC)


def secretstore_health(obj: dict[str, Any]) -> Health:
    kind = str_at(obj, "kind") or "SecretStore"
    return condition_health(obj, "Ready", f"Waiting for the {kind} to be validated")
