"""Health of live Kubernetes objects, and of an application as its worst object.

Statuses, their order and the per-kind rules follow Argo CD (gitops-engine
`pkg/health` and its built-in CronJob check), so users moving from Argo CD read the
same words. Everything here is a pure function of the object: no cluster access.

    assess(live_object, customizations) -> Health
                                      one object: a configured Lua check (resource
                                      customizations: the argocd-cm file, then the
                                      directory), else the built-in rule for its kind
    worst(healths) -> Health          an application
    missing() -> Health               a desired object absent from the cluster

`assess` never raises: a status field of the wrong shape yields Unknown with a
message naming the object and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from reconciler.engine.health.rules import rule_for
from reconciler.engine.health.rules.conditions import conditions_health
from reconciler.engine.health.rules.configured import Customizations
from reconciler.engine.health.rules.fields import MalformedStatus, str_at, value_at
from reconciler.engine.health.rules.lua_runtime import run_health_check
from reconciler.engine.health.rules.model import Health, HealthStatus
from reconciler.engine.health.rules.no_check import no_check_health
from reconciler.model.resources import split_api_version

__all__ = ["SEVERITY", "Health", "HealthStatus", "assess", "missing", "worst"]

# Best to worst, as Argo CD orders them; iterate for the order, index for the rank.
SEVERITY: Mapping[HealthStatus, int] = MappingProxyType(
    {
        status: rank
        for rank, status in enumerate(
            (
                HealthStatus.Healthy,
                HealthStatus.Suspended,
                HealthStatus.Progressing,
                HealthStatus.Missing,
                HealthStatus.Degraded,
                HealthStatus.Unknown,
            )
        )
    }
)


def missing() -> Health:
    """The health of an object Git wants but the cluster does not have."""
    return Health(HealthStatus.Missing, "Resource is missing from the cluster")


def worst(healths: Iterable[Health]) -> Health:
    """The least healthy of `healths` (the first of equals); Healthy when there are none."""
    result = Health(HealthStatus.Healthy)
    for health in healths:
        if SEVERITY[health.status] > SEVERITY[result.status]:
            result = health
    return result


def _describe(obj: Mapping[str, Any]) -> str:
    """`Deployment shop/web` for messages; tolerant of any junk in kind or metadata."""

    def text(value: object) -> str:
        return value if isinstance(value, str) else ""

    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    kind, name, namespace = text(obj.get("kind")) or "object", text(meta.get("name")), text(meta.get("namespace"))
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}".rstrip()


def _assess(obj: dict[str, Any], customizations: Customizations) -> Health:
    # Whatever its kind, an object on its way out is not settled (finalizers may hold it).
    if value_at(obj, "metadata.deletionTimestamp") is not None:
        return Health(HealthStatus.Progressing, "Pending deletion")
    group, _ = split_api_version(str_at(obj, "apiVersion"))
    kind = str_at(obj, "kind")
    script = customizations.health_script(group, kind)
    if script is not None:
        return run_health_check(script, obj)
    rule = rule_for(group, kind)
    if rule is not None:
        return rule(obj)
    return conditions_health(obj) or no_check_health(group, kind)


def assess(obj: dict[str, Any], customizations: Customizations) -> Health:
    """The health of one live object. Never raises.

    `customizations`: the Lua checks to prefer over the built-in rules (the process's
    Settings name them: Services.customizations()).
    """
    if not isinstance(obj, Mapping):
        return Health(HealthStatus.Unknown, f"cannot assess health: expected an object, got {type(obj).__name__}")
    if customizations.problem:
        # A broken configuration is reported on every object rather than silently ignored:
        # the checks it should hold would otherwise be replaced by other verdicts.
        return Health(HealthStatus.Unknown, f"cannot assess health: resource customizations: {customizations.problem}")
    try:
        return _assess(obj, customizations)
    except MalformedStatus as error:
        return Health(HealthStatus.Unknown, f"cannot assess health of {_describe(obj)}: {error}")
    except Exception as error:  # a rule bug must not take a whole sync down with it
        return Health(
            HealthStatus.Unknown,
            f"cannot assess health of {_describe(obj)}: unexpected {type(error).__name__} in the health rule",
        )
