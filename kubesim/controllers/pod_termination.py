"""Graceful Pod deletion, as the pod registry strategy (CheckGracefulDelete) and the kubelet do it.

https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination: a DELETE
marks the Pod with deletionTimestamp = now + grace and deletionGracePeriodSeconds = grace,
where grace is the request's gracePeriodSeconds, else spec.terminationGracePeriodSeconds
(30 by default); the kubelet stops the containers and removes the Pod once the grace
period is over (kubesim: after grace x termination_grace_scale seconds). A Pod that was
never scheduled, or has already finished, goes at once; so does gracePeriodSeconds=0
(`kubectl delete --grace-period=0 --force`); a second DELETE may shorten the period, never
lengthen it. Only with the simulated controllers on: without a kubelet nothing would remove it.
"""

from __future__ import annotations

import time
from typing import Any

from kubesim.storage.objects import clone
from kubesim.storage.store import Obj

DEFAULT_GRACE_SECONDS = 30


def grace_period(pod: Obj, requested: int | None) -> int:
    """Seconds the kubelet gets to stop this pod (0: delete at once)."""
    spec: dict[str, Any] = pod.get("spec") or {}
    status: dict[str, Any] = pod.get("status") or {}
    scheduled = bool(spec.get("nodeName")) or any(
        c.get("type") == "PodScheduled" and c.get("status") == "True" for c in status.get("conditions") or [])
    if not scheduled or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return max(int(requested), 0)
    value = spec.get("terminationGracePeriodSeconds")
    return DEFAULT_GRACE_SECONDS if value is None else max(int(value), 0)


def _timestamp(seconds_from_now: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds_from_now))


def marked_for_termination(pod: Obj, grace: int) -> Obj:
    """The pod as stored while it terminates."""
    new = clone(pod)
    m = new["metadata"]
    m["deletionTimestamp"] = _timestamp(grace)
    m["deletionGracePeriodSeconds"] = grace
    return new


def shortens(pod: Obj, grace: int) -> bool:
    """Whether a repeated DELETE with this grace period moves the deadline closer."""
    current = pod["metadata"].get("deletionGracePeriodSeconds")
    return current is not None and grace < int(current)
