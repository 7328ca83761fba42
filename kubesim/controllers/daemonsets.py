"""The DaemonSet controller for a one-node cluster: one pod, replaced on a template change
(RollingUpdate) or left alone (OnDelete), and the node-count status fields."""

from __future__ import annotations

from typing import Any

from kubesim.controllers.context import ControllerContext
from kubesim.controllers.kubelet import PODS
from kubesim.controllers.replicasets import active_pods, pod_is_ready
from kubesim.controllers.templates import REVISION_HASH, pod_from_template, template_hash
from kubesim.storage.store import Obj

DAEMONSETS = ("apps", "daemonsets")
TEMPLATE_GENERATION = "pod-template-generation"
_NODES = 1


def reconcile_daemonset(ctx: ControllerContext, ds: Obj) -> float | None:
    m, spec = ds["metadata"], ds.get("spec") or {}
    if m.get("deletionTimestamp"):
        return None
    revision = template_hash(spec.get("template"))
    pods = active_pods(ctx, ds)
    for extra in pods[_NODES:]:
        ctx.delete(PODS, extra)  # one daemon pod per node
    pods = pods[:_NODES]
    rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
    if rolling:
        for pod in [p for p in pods if (p["metadata"].get("labels") or {}).get(REVISION_HASH) != revision]:
            ctx.delete(PODS, pod)
            pods.remove(pod)
    if not pods:
        labels = {REVISION_HASH: revision, TEMPLATE_GENERATION: str(m.get("generation") or 1)}
        pods.append(ctx.create(PODS, m.get("namespace", ""), pod_from_template(
            spec.get("template"), ds, generate_name=f"{m['name']}-", extra_labels=labels)))
    ready = sum(1 for p in pods if pod_is_ready(p))
    updated = sum(1 for p in pods if (p["metadata"].get("labels") or {}).get(REVISION_HASH) == revision)
    status: dict[str, Any] = {"currentNumberScheduled": len(pods), "desiredNumberScheduled": _NODES,
                              "numberMisscheduled": 0, "numberReady": ready,
                              "observedGeneration": int(m.get("generation") or 1)}
    # omitempty in apps/v1 DaemonSetStatus
    for key, value in (("updatedNumberScheduled", updated), ("numberAvailable", ready),
                       ("numberUnavailable", _NODES - ready)):
        if value:
            status[key] = value
    ctx.update_status(DAEMONSETS, ds, status)
    return None
