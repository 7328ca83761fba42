"""Progressive syncs (`strategy.type: RollingSync`), as Argo CD runs them: generated apps get no
automated sync; the set syncs them step by step. An app belongs to the first step whose
`matchExpressions` all match its labels (apps no step selects are left alone, as in Argo CD);
a step's apps are synced only once every app of the earlier steps is Synced and Healthy, at
most `maxUpdate` of them at a time (a number, or a percentage of the step rounded down and at
least 1; 0 leaves the step to people).

Each app's rollout state, shown in `appset get` (Argo CD's applicationStatus):
Waiting (out of sync, its turn not come), Pending (sync requested), Progressing (synced, not
healthy yet, or its sync failed: the rollout stops there and says so), Healthy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.control.appsets.context import label_selector_matches
from reconciler.control.requests import SyncRequest
from reconciler.model import Application
from reconciler.model.appset_types import ApplicationSet, RollingSyncStep


@dataclass(frozen=True)
class AppState:
    sync: str  # Synced | OutOfSync | Unknown
    health: str
    operation_phase: str = ""
    operation_finished: float = 0.0


def step_of(steps: tuple[RollingSyncStep, ...], labels: Mapping[str, str]) -> int | None:
    for index, step in enumerate(steps):
        selector = {
            "matchExpressions": [
                {"key": e.key, "operator": e.operator, "values": list(e.values)} for e in step.match_expressions
            ]
        }
        if label_selector_matches(selector, labels):
            return index
    return None


def max_update(step: RollingSyncStep, size: int) -> int:
    if not step.max_update:
        return size
    if step.max_update.endswith("%"):
        percent = int(step.max_update[:-1])
        return 0 if percent == 0 else max(1, math.floor(size * percent / 100))
    return int(step.max_update)


def _state(previous: Mapping[str, Any], app: AppState) -> tuple[str, str]:
    requested = float(previous.get("syncRequestedAt") or 0)
    if previous.get("status") in ("Pending", "Progressing") and requested:
        if app.operation_finished < requested:
            return "Pending", "sync requested by the ApplicationSet; waiting for it to start"
        if app.operation_phase in ("Failed", "Error"):
            return "Progressing", f"sync {app.operation_phase}: the rollout waits until the app is Synced and Healthy"
    if app.sync == "Synced" and app.health == "Healthy":
        return "Healthy", "Synced and Healthy"
    if app.sync == "Synced":
        return "Progressing", f"synced, health {app.health}"
    return "Waiting", "out of sync; waiting for its step"


def rollout(
    appset: ApplicationSet,
    apps: Mapping[str, Application],
    states: Mapping[str, AppState],
    previous: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[SyncRequest], bool]:
    """(applicationStatus rows, the syncs to request now, whether the rollout still runs)."""
    steps = appset.rolling_sync or ()
    before = {row.get("application"): row for row in previous}
    rows: dict[str, dict[str, Any]] = {}
    by_step: dict[int, list[str]] = {}
    now = time.time()
    for name, app in apps.items():
        index = step_of(steps, app.labels)
        if index is None:
            continue
        status, message = _state(before.get(name) or {}, states.get(name) or AppState("Unknown", "Unknown"))
        old = before.get(name) or {}
        rows[name] = {
            "application": name,
            "step": str(index + 1),
            "status": status,
            "message": message,
            "syncRequestedAt": old.get("syncRequestedAt") if status == "Pending" or status == "Progressing" else None,
            "lastTransitionTime": old.get("lastTransitionTime", now) if old.get("status") == status else now,
        }
        by_step.setdefault(index, []).append(name)
    syncs: list[SyncRequest] = []
    running = False
    for index in sorted(by_step):
        names = sorted(by_step[index])
        if all(rows[n]["status"] == "Healthy" for n in names):
            continue
        running = True
        budget = max_update(steps[index], len(names)) - sum(
            rows[n]["status"] in ("Pending", "Progressing") for n in names
        )
        for name in names:
            if budget <= 0:
                break
            if rows[name]["status"] == "Waiting":
                prune = bool(apps[name].sync_policy.automated and apps[name].sync_policy.automated.prune)
                syncs.append(SyncRequest(app=name, prune=prune, trigger="appset"))
                rows[name].update(
                    status="Pending",
                    syncRequestedAt=now,
                    lastTransitionTime=now,
                    message=f"sync requested by the ApplicationSet (step {index + 1})",
                )
                budget -= 1
        break  # later steps wait for this one
    return [rows[name] for name in sorted(rows, key=lambda n: (int(rows[n]["step"]), n))], syncs, running
