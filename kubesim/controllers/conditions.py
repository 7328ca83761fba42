"""Status conditions as Kubernetes controllers maintain them.

lastTransitionTime moves only when `status` changes; lastUpdateTime (Deployments) and
lastProbeTime (Jobs) move when anything about the condition changes. Keeping the old
times on an unchanged condition matters here: it makes a repeated reconcile a no-op
write, which the API server then skips, so the simulation settles instead of looping.
"""

from __future__ import annotations

from typing import Any

from kubesim.storage.objects import now

Condition = dict[str, Any]


def find(conditions: list[Condition] | None, kind: str) -> Condition | None:
    for condition in conditions or []:
        if condition.get("type") == kind:
            return condition
    return None


def is_true(conditions: list[Condition] | None, kind: str) -> bool:
    found = find(conditions, kind)
    return found is not None and found.get("status") == "True"


def put(conditions: list[Condition] | None, kind: str, status: str, reason: str = "", message: str = "", *,
        update_time: bool = False, probe_time: bool = False, touch: bool = False) -> list[Condition]:
    """`conditions` with the condition of type `kind` set; the list order is kept, new ones go last.

    update_time / probe_time: the condition carries lastUpdateTime / lastProbeTime (per kind).
    touch: move lastUpdateTime even when nothing else changed (Deployment progress).
    """
    old = find(conditions, kind)
    stamp = now()
    new: Condition = {"type": kind, "status": status}
    if probe_time:
        new["lastProbeTime"] = stamp
    if update_time:
        new["lastUpdateTime"] = stamp
    new["lastTransitionTime"] = stamp
    if reason:
        new["reason"] = reason
    if message:
        new["message"] = message
    if old is not None:
        same_status = old.get("status") == status
        unchanged = same_status and old.get("reason", "") == reason and old.get("message", "") == message
        if same_status and "lastTransitionTime" in old:
            new["lastTransitionTime"] = old["lastTransitionTime"]
        if unchanged and not touch:
            for stamp_field in ("lastUpdateTime", "lastProbeTime"):
                if stamp_field in new and stamp_field in old:
                    new[stamp_field] = old[stamp_field]
    out = [dict(c) for c in conditions or [] if c.get("type") != kind]
    position = next((i for i, c in enumerate(conditions or []) if c.get("type") == kind), len(out))
    out.insert(position, new)
    return out


def drop(conditions: list[Condition] | None, kind: str) -> list[Condition]:
    return [dict(c) for c in conditions or [] if c.get("type") != kind]
