"""The health of an object nothing can judge: no rule, no check, no conventional status.

Argo CD shows no health at all for such a custom resource and leaves it out of the
application's health. The reconciler stores a health for every resource, so it says
Healthy (nothing to wait for, and the application's health is not held back), with a
message that says plainly that nothing was checked, so nobody reads it as verified.
Built-in Kubernetes kinds without a status (ConfigMap, Secret, ServiceAccount, RBAC, ...)
are Healthy with no message: there is nothing to check about them.
"""

from __future__ import annotations

from reconciler.engine.health.rules.model import Health, HealthStatus

# API groups served by kube-apiserver itself. Anything else (including CRD groups under
# k8s.io such as gateway.networking.k8s.io) is a custom resource.
IN_TREE_GROUPS = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "extensions",
        "flowcontrol.apiserver.k8s.io",
        "internal.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)


def no_check_health(group: str, kind: str) -> Health:
    if group in IN_TREE_GROUPS:
        return Health(HealthStatus.Healthy)
    return Health(HealthStatus.Healthy, f"no health check exists for {group}/{kind}; health not assessed")
