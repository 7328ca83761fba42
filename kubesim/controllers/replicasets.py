"""The ReplicaSet controller: keeps spec.replicas pods alive and reports how many are ready."""

from __future__ import annotations

from typing import Any

from kubesim.controllers.conditions import is_true
from kubesim.controllers.context import ControllerContext
from kubesim.controllers.kubelet import PODS
from kubesim.controllers.templates import pod_from_template
from kubesim.storage.store import Obj

REPLICASETS = ("apps", "replicasets")


def pod_is_ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and is_true(status.get("conditions"), "Ready")


def active_pods(ctx: ControllerContext, owner: Obj) -> list[Obj]:
    """Pods the owner controls that count towards its replicas (not terminating, not finished)."""
    m = owner["metadata"]
    return [p for p in ctx.owned(PODS, m.get("namespace", ""), m["uid"])
            if not p["metadata"].get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


def _deletion_order(pod: Obj) -> tuple[int, str]:
    # As the ReplicaSet controller ranks victims: unready pods before ready ones, newer before older.
    return (1 if pod_is_ready(pod) else 0, _negated(pod["metadata"].get("creationTimestamp", "")))


def _negated(stamp: str) -> str:
    return "".join(chr(255 - ord(ch)) for ch in stamp)


def reconcile_replicaset(ctx: ControllerContext, rs: Obj) -> float | None:
    m, spec = rs["metadata"], rs.get("spec") or {}
    if m.get("deletionTimestamp"):
        return None
    desired = int(spec.get("replicas", 1))
    pods = active_pods(ctx, rs)
    if len(pods) < desired:
        for _ in range(desired - len(pods)):
            ctx.create(PODS, m.get("namespace", ""),
                       pod_from_template(spec.get("template"), rs, generate_name=f"{m['name']}-"))
    elif len(pods) > desired:
        for victim in sorted(pods, key=_deletion_order)[: len(pods) - desired]:
            ctx.delete(PODS, victim)
    pods = active_pods(ctx, rs)
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    fully_labeled = sum(1 for p in pods if template_labels.items() <= (p["metadata"].get("labels") or {}).items())
    ready = sum(1 for p in pods if pod_is_ready(p))
    status: dict[str, Any] = {"replicas": len(pods)}
    # omitempty in apps/v1 ReplicaSetStatus: zero counts are not serialised
    for key, value in (("fullyLabeledReplicas", fully_labeled), ("readyReplicas", ready),
                       ("availableReplicas", ready), ("observedGeneration", int(m.get("generation") or 1))):
        if value:
            status[key] = value
    ctx.update_status(REPLICASETS, rs, status)
    return None
