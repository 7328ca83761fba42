"""What storage and cloud provisioners do, `ready_delay` seconds after an object appears:
PersistentVolumeClaims are bound (unless their storageClassName is "pending", which
never provisions), and Services of type LoadBalancer get an ingress IP from 192.0.2.0/24.

Binding is simplified: the claim gets spec.volumeName, the binder's annotations and a
Bound status, but no PersistentVolume object is created.
"""

from __future__ import annotations

from typing import Any

from kubesim.controllers.context import ControllerContext
from kubesim.storage.objects import clone
from kubesim.storage.store import Obj

CLAIMS = ("", "persistentvolumeclaims")
SERVICES = ("", "services")
NEVER_BINDS = "pending"
_BIND_ANNOTATIONS = {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"}


def reconcile_claim(ctx: ControllerContext, claim: Obj) -> float | None:
    m, spec = claim["metadata"], claim.get("spec") or {}
    if m.get("deletionTimestamp") or (claim.get("status") or {}).get("phase") == "Bound":
        return None
    if spec.get("storageClassName") == NEVER_BINDS:
        return None
    wait = ctx.settings.ready_delay - ctx.age(claim)
    if wait > 0:
        return wait
    if not spec.get("volumeName"):
        bound = clone(claim)
        bound["spec"]["volumeName"] = f"pvc-{m['uid']}"
        bound["metadata"].setdefault("annotations", {}).update(_BIND_ANNOTATIONS)
        claim = ctx.update(CLAIMS, bound)
        spec = claim.get("spec") or {}
    status: dict[str, Any] = {"phase": "Bound", "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"])}
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage:
        status["capacity"] = {"storage": storage}
    ctx.update_status(CLAIMS, claim, status)
    return None


def reconcile_service(ctx: ControllerContext, service: Obj) -> float | None:
    m, spec = service["metadata"], service.get("spec") or {}
    if m.get("deletionTimestamp"):
        return None
    status = clone(service.get("status") or {})
    load_balancer = status.get("loadBalancer") or {}
    if spec.get("type") != "LoadBalancer":
        if load_balancer.get("ingress"):  # the cloud controller releases the address
            status["loadBalancer"] = {}
            ctx.update_status(SERVICES, service, status)
        return None
    if load_balancer.get("ingress"):
        return None
    wait = ctx.settings.ready_delay - ctx.age(service)
    if wait > 0:
        return wait
    status["loadBalancer"] = {"ingress": [{"ip": ctx.load_balancer_ip(m["uid"]), "ipMode": "VIP"}]}
    ctx.update_status(SERVICES, service, status)
    return None
