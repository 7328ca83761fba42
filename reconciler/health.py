"""`reconciler.health.assess(obj)`: the public import path other tools use; the code lives in
reconciler/engine/health/."""

from reconciler.engine.health.assess import SEVERITY, Health, HealthStatus, assess, missing, worst

__all__ = ["SEVERITY", "Health", "HealthStatus", "assess", "missing", "worst"]
