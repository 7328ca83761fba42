"""StatefulSet health: rolling updates (with partitions) and OnDelete, as Argo CD judges them."""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import int_at, map_at, str_at, value_at
from reconciler.engine.health.rules.model import Health, HealthStatus


def statefulset_health(obj: dict[str, Any]) -> Health:
    observed = int_at(obj, "status.observedGeneration")
    if observed == 0 or int_at(obj, "metadata.generation") > observed:
        return Health(HealthStatus.Progressing, "Waiting for statefulset spec update to be observed...")
    desired = int_at(obj, "spec.replicas", 1)
    ready = int_at(obj, "status.readyReplicas")
    if ready < desired:
        return Health(HealthStatus.Progressing, f"Waiting for {desired - ready} pods to be ready...")

    updated = int_at(obj, "status.updatedReplicas")
    strategy = str_at(obj, "spec.updateStrategy.type", "RollingUpdate")
    if strategy == "OnDelete":
        # Pods are replaced only when someone deletes them: nothing to wait for.
        return Health(HealthStatus.Healthy, f"statefulset has {ready} ready pods ({updated} updated)")
    if strategy == "RollingUpdate" and value_at(obj, "spec.updateStrategy.rollingUpdate") is not None:
        # Pods with an ordinal below the partition deliberately stay on the old revision.
        partition = int_at(map_at(obj, "spec.updateStrategy.rollingUpdate"), "partition")
        target = desired - partition
        if updated < target:
            return Health(
                HealthStatus.Progressing,
                f"Waiting for partitioned roll out to finish: {updated} out of {target} new pods have been updated...",
            )
        return Health(HealthStatus.Healthy, f"partitioned roll out complete: {updated} new pods have been updated...")

    update_revision = str_at(obj, "status.updateRevision")
    current_revision = str_at(obj, "status.currentRevision")
    if update_revision != current_revision:
        return Health(
            HealthStatus.Progressing,
            f"waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}...",
        )
    current = int_at(obj, "status.currentReplicas")
    return Health(
        HealthStatus.Healthy,
        f"statefulset rolling update complete {current} pods at revision {current_revision}...",
    )
