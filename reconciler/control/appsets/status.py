"""An ApplicationSet's status as Argo CD writes it: the conditions `ErrorOccurred`,
`ParametersGenerated`, `ResourcesUpToDate` (and `RolloutProgressing` with RollingSync), each
with status "True"/"False", a reason, a message and when it last changed; and `resources`,
one row per Application the set owns with its sync and health."""

from __future__ import annotations

import time
from typing import Any

from reconciler.state import Store

# Argo CD's reasons (pkg/apis/application/v1alpha1/applicationset_types.go), and one of ours.
UP_TO_DATE = "ApplicationSetUpToDate"
PARAMETERS_GENERATED = "ParametersGenerated"
GENERATION_ERROR = "ApplicationGenerationFromParamsError"
RENDER_ERROR = "RenderTemplateParamsError"
VALIDATION_ERROR = "ApplicationValidationError"
DELETION_CAP = "DeletionCapExceeded"
INVALID_SPEC = "ApplicationSetSpecError"


def condition(kind: str, status: bool, reason: str, message: str) -> dict[str, Any]:
    return {"type": kind, "status": "True" if status else "False", "reason": reason, "message": message}


def conditions_ok() -> list[dict[str, Any]]:
    done = "Successfully generated parameters for all Applications"
    return [
        condition("ErrorOccurred", False, UP_TO_DATE, done),
        condition("ParametersGenerated", True, PARAMETERS_GENERATED, done),
        condition("ResourcesUpToDate", True, UP_TO_DATE, "All applications have been generated successfully"),
    ]


def conditions_failed(reason: str, message: str, *, parameters: bool) -> list[dict[str, Any]]:
    """Something held the run: ErrorOccurred names it; ResourcesUpToDate says nothing changed."""
    generated = "Successfully generated parameters for all Applications"
    return [
        condition("ErrorOccurred", True, reason, message),
        condition(
            "ParametersGenerated",
            parameters,
            PARAMETERS_GENERATED if parameters else reason,
            generated if parameters else message,
        ),
        condition("ResourcesUpToDate", False, reason, message),
    ]


def with_transition_times(conditions: list[dict[str, Any]], previous: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """lastTransitionTime kept from the previous status while a condition's status stays."""
    before = {c.get("type"): c for c in previous}
    now = time.time()
    out = []
    for item in conditions:
        old = before.get(item["type"])
        same = old is not None and old.get("status") == item["status"]
        out.append({**item, "lastTransitionTime": old.get("lastTransitionTime", now) if same and old else now})
    return out


def resource_rows(store: Store, names: list[str], namespaces: dict[str, str]) -> list[dict[str, Any]]:
    """status.resources: each owned Application with its sync and health, read from its status."""
    statuses = store.statuses(names) if names else {}
    rows = []
    for name in names:
        status = statuses.get(name) or {}
        health = status.get("health") or {"status": "Unknown"}
        rows.append(
            {
                "group": "argoproj.io",
                "version": "v1alpha1",
                "kind": "Application",
                "name": name,
                "namespace": namespaces.get(name, ""),
                "status": (status.get("sync") or {}).get("status", "Unknown"),
                "health": {"status": health.get("status", "Unknown"), "message": health.get("message", "")},
            }
        )
    return rows
