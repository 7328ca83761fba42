"""cert-manager `Certificate`, `Issuer` and `ClusterIssuer` (cert-manager.io/v1 status).

A Certificate's `Ready` condition says whether the Secret holds a valid certificate for
the current spec; while `Issuing` is True a new certificate is being requested, and Ready
may be False only because the old one is being replaced, so Issuing is read first (as
Argo CD does). Issuers have a `Ready` condition: True once registered with their CA / ACME
account.
"""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.fields import condition, str_at
from reconciler.engine.health.rules.model import Health, HealthStatus
from reconciler.engine.health.rules.ready_condition import condition_health


def certificate_health(obj: dict[str, Any]) -> Health:
    issuing = condition(obj, "Issuing")
    if issuing is not None and str_at(issuing, "status") == "True":
        return Health(HealthStatus.Progressing, str_at(issuing, "message") or "Issuing certificate")
    return condition_health(obj, "Ready", "Waiting for the certificate to be issued")


def issuer_health(obj: dict[str, Any]) -> Health:
    kind = str_at(obj, "kind") or "Issuer"
    return condition_health(obj, "Ready", f"Waiting for the {kind} to be registered")
