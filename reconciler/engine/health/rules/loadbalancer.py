"""Service and Ingress health: waiting for a load balancer address where one is expected."""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import maps_at, str_at
from reconciler.engine.health.rules.model import Health, HealthStatus

WAITING_FOR_ADDRESS = "Waiting for the load balancer to be assigned an address"


def service_health(obj: dict[str, Any]) -> Health:
    if str_at(obj, "spec.type", "ClusterIP") == "LoadBalancer" and not maps_at(obj, "status.loadBalancer.ingress"):
        return Health(HealthStatus.Progressing, WAITING_FOR_ADDRESS)
    return Health(HealthStatus.Healthy)


def ingress_health(obj: dict[str, Any]) -> Health:
    # As in Argo CD, every Ingress waits for its controller to publish an address, since
    # until then no traffic reaches it; an Ingress class that never publishes one stays
    # Progressing (override with a custom check, as in Argo CD).
    if not maps_at(obj, "status.loadBalancer.ingress"):
        return Health(HealthStatus.Progressing, WAITING_FOR_ADDRESS)
    return Health(HealthStatus.Healthy)
