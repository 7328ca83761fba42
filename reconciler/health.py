"""`reconciler.health.assess(obj)`: the public import path other tools use; the code lives in
reconciler/engine/health/. Without `customizations`, those the environment names
(RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE / _DIR) are used."""

from typing import Any

from reconciler.engine.health.assess import SEVERITY, Health, HealthStatus, missing, worst
from reconciler.engine.health.assess import assess as _assess
from reconciler.engine.health.rules.configured import Customizations, environment_customizations


def assess(obj: dict[str, Any], customizations: Customizations | None = None) -> Health:
    return _assess(obj, environment_customizations() if customizations is None else customizations)


__all__ = ["SEVERITY", "Health", "HealthStatus", "assess", "missing", "worst"]
