"""The StatefulSet controller: pods <name>-0..n-1 with their claims, ordered start-up, rolling
updates from the highest ordinal, and the revision-based status.

Simplification: pods are always created from the current template; a real controller
recreates pods below a rolling-update partition from the older revision's template.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from kubesim.controllers.context import ControllerContext, owner_reference
from kubesim.controllers.kubelet import PODS
from kubesim.controllers.replicasets import pod_is_ready
from kubesim.controllers.templates import REVISION_HASH, pod_from_template, template_hash
from kubesim.errors import AlreadyExists
from kubesim.storage.store import Obj

STATEFULSETS = ("apps", "statefulsets")
CLAIMS = ("", "persistentvolumeclaims")
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


def _ordinal_pods(ctx: ControllerContext, sts: Obj) -> dict[int, Obj]:
    m = sts["metadata"]
    pattern = re.compile(rf"^{re.escape(m['name'])}-(\d+)$")
    out: dict[int, Obj] = {}
    for pod in ctx.owned(PODS, m.get("namespace", ""), m["uid"]):
        match = pattern.match(pod["metadata"]["name"])
        if match and not pod["metadata"].get("deletionTimestamp"):
            out[int(match[1])] = pod
    return out


def _claim_name(template: dict[str, Any], sts: Obj, ordinal: int) -> str:
    return f"{(template.get('metadata') or {}).get('name', '')}-{sts['metadata']['name']}-{ordinal}"


def _ensure_claims(ctx: ControllerContext, sts: Obj, ordinal: int) -> None:
    spec, m = sts.get("spec") or {}, sts["metadata"]
    retention = (spec.get("persistentVolumeClaimRetentionPolicy") or {}).get("whenDeleted", "Retain")
    for template in spec.get("volumeClaimTemplates") or []:
        name = _claim_name(template, sts, ordinal)
        if ctx.get(CLAIMS, m.get("namespace", ""), name) is not None:
            continue
        metadata: dict[str, Any] = {"name": name, "namespace": m.get("namespace", "")}
        labels = {**((template.get("metadata") or {}).get("labels") or {}),
                  **((spec.get("selector") or {}).get("matchLabels") or {})}
        if labels:
            metadata["labels"] = labels
        if retention == "Delete":
            metadata["ownerReferences"] = [owner_reference(sts)]
        claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata,
                 "spec": dict(template.get("spec") or {})}
        with contextlib.suppress(AlreadyExists):  # created meanwhile: the claim is there, all this needs
            ctx.create(CLAIMS, m.get("namespace", ""), claim)


def _new_pod(sts: Obj, ordinal: int, revision: str) -> Obj:
    spec, name = sts.get("spec") or {}, f"{sts['metadata']['name']}-{ordinal}"
    volumes = list(((spec.get("template") or {}).get("spec") or {}).get("volumes") or [])
    taken = {v.get("name") for v in volumes}
    for template in spec.get("volumeClaimTemplates") or []:
        volume_name = (template.get("metadata") or {}).get("name", "")
        if volume_name not in taken:
            volumes.append({"name": volume_name,
                            "persistentVolumeClaim": {"claimName": _claim_name(template, sts, ordinal)}})
    extra: dict[str, Any] = {"hostname": name}
    if spec.get("serviceName"):
        extra["subdomain"] = spec["serviceName"]
    if volumes:
        extra["volumes"] = volumes
    return pod_from_template(spec.get("template"), sts, name=name, spec_extra=extra, extra_labels={
        REVISION_HASH: revision, POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal)})


def reconcile_statefulset(ctx: ControllerContext, sts: Obj) -> float | None:
    m, spec = sts["metadata"], sts.get("spec") or {}
    if m.get("deletionTimestamp"):
        return None
    namespace, desired = m.get("namespace", ""), int(spec.get("replicas", 1))
    update_revision = f"{m['name']}-{template_hash(spec.get('template'))}"
    old_status = sts.get("status") or {}
    current_revision = old_status.get("currentRevision") or update_revision
    ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
    pods = _ordinal_pods(ctx, sts)
    for ordinal, pod in sorted(pods.items()):
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            ctx.delete(PODS, pod)  # a finished pod is replaced, as the real controller does
            del pods[ordinal]
    for ordinal in range(desired):
        if ordinal in pods:
            continue
        if ordered and not all(j in pods and pod_is_ready(pods[j]) for j in range(ordinal)):
            break
        _ensure_claims(ctx, sts, ordinal)
        pods[ordinal] = ctx.create(PODS, namespace, _new_pod(sts, ordinal, update_revision))
    for ordinal in sorted((o for o in pods if o >= desired), reverse=True):
        ctx.delete(PODS, pods.pop(ordinal))
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") == "RollingUpdate" and all(pod_is_ready(p) for p in pods.values()):
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        stale = [o for o, p in pods.items() if o >= partition
                 and (p["metadata"].get("labels") or {}).get(REVISION_HASH) != update_revision]
        if stale:
            ctx.delete(PODS, pods.pop(max(stale)))  # recreated from the new template on the next pass
    revisions = [(p["metadata"].get("labels") or {}).get(REVISION_HASH) for p in pods.values()]
    ready = sum(1 for p in pods.values() if pod_is_ready(p))
    updated = revisions.count(update_revision)
    if updated == desired and ready == desired:
        current_revision = update_revision
    status: dict[str, Any] = {"availableReplicas": ready, "collisionCount": 0}
    for key, value in (("currentReplicas", revisions.count(current_revision)),
                       ("currentRevision", current_revision),
                       ("observedGeneration", int(m.get("generation") or 1)), ("readyReplicas", ready)):
        if value:
            status[key] = value
    status["replicas"] = len(pods)
    status["updateRevision"] = update_revision
    if updated:
        status["updatedReplicas"] = updated
    ctx.update_status(STATEFULSETS, sts, status)
    return None
