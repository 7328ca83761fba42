"""Bitnami Sealed Secrets `SealedSecret`: the controller writes a `Synced` condition once it
has (or has failed to) decrypt the data into a Secret (bitnami-labs/sealed-secrets,
`SealedSecretStatus`)."""

from __future__ import annotations

from typing import Any

from reconciler.engine.health.rules.model import Health
from reconciler.engine.health.rules.ready_condition import condition_health


def sealedsecret_health(obj: dict[str, Any]) -> Health:
    return condition_health(obj, "Synced", "Waiting for the SealedSecret to be decrypted")
