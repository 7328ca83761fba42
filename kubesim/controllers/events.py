"""Events the simulated controllers would record, derived from the changes they make.

Real controllers call an EventRecorder next to each write; kubesim's controllers stay as
they are and this module reads the same changes off the store instead: a Pod created for a
ReplicaSet is the ReplicaSet's `SuccessfulCreate`, a container that starts running is the
kubelet's `Pulled`/`Created`/`Started`, a ReplicaSet resized by its Deployment is the
Deployment's `ScalingReplicaSet`, and so on, with the reasons and messages of Kubernetes
v1.31's controllers. Events are core/v1 objects named `<object>.<hex nanoseconds>` with
involvedObject set, so `kubectl describe` lists them; a repeat of the same event bumps
`count` and `lastTimestamp` (the event correlator). They expire after `event_ttl` seconds
(kube-apiserver --event-ttl, default one hour).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kubesim.controllers.context import NODE_NAME
from kubesim.storage.store import Event, Obj

EVENT_TTL_SECONDS = 3600.0
EVENTS = ("", "events")


@dataclass(frozen=True)
class Occurrence:
    """One event to record about `regarding`."""

    regarding: Obj
    type: str  # Normal | Warning
    reason: str
    message: str
    component: str
    field_path: str = ""


def _owner(obj: Obj) -> dict[str, Any] | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def _reference(ref: dict[str, Any], namespace: str) -> Obj:
    """A stand-in for an owner we only know by reference (enough for involvedObject)."""
    return {"apiVersion": ref.get("apiVersion", ""), "kind": ref.get("kind", ""),
            "metadata": {"name": ref.get("name", ""), "namespace": namespace, "uid": ref.get("uid", "")}}


_POD_OWNER_COMPONENT = {"ReplicaSet": "replicaset-controller", "Job": "job-controller",
                        "StatefulSet": "statefulset-controller", "DaemonSet": "daemonset-controller"}


def _pod_owner_events(change: Event) -> list[Occurrence]:
    pod = change.obj
    ref = _owner(pod)
    if ref is None or ref.get("kind") not in _POD_OWNER_COMPONENT:
        return []
    kind, name, owner_name = ref["kind"], pod["metadata"]["name"], ref.get("name", "")
    owner = _reference(ref, pod["metadata"].get("namespace", ""))
    component = _POD_OWNER_COMPONENT[kind]
    if change.type == "ADDED":
        message = (f"create Pod {name} in StatefulSet {owner_name} successful" if kind == "StatefulSet"
                   else f"Created pod: {name}")
        return [Occurrence(owner, "Normal", "SuccessfulCreate", message, component)]
    if change.type == "DELETED" and kind in ("ReplicaSet", "StatefulSet", "DaemonSet"):
        message = (f"delete Pod {name} in StatefulSet {owner_name} successful" if kind == "StatefulSet"
                   else f"Deleted pod: {name}")
        return [Occurrence(owner, "Normal", "SuccessfulDelete", message, component)]
    return []


def _containers(pod: Obj | None) -> dict[str, dict[str, Any]]:
    statuses = ((pod or {}).get("status") or {}).get("containerStatuses") or []
    return {s.get("name", ""): s for s in statuses}


def _state(status: dict[str, Any] | None) -> tuple[str, str]:
    """(running|waiting|terminated|"", reason) of a container status."""
    state = (status or {}).get("state") or {}
    for key in ("running", "waiting", "terminated"):
        if key in state:
            return key, str((state[key] or {}).get("reason") or "")
    return "", ""


def _kubelet_events(change: Event) -> list[Occurrence]:
    pod, old = change.obj, change.old
    m = pod["metadata"]
    out: list[Occurrence] = []
    if change.type == "ADDED" and (pod.get("spec") or {}).get("nodeName"):
        out.append(Occurrence(pod, "Normal", "Scheduled",
                              f"Successfully assigned {m.get('namespace')}/{m['name']} to {pod['spec']['nodeName']}",
                              "default-scheduler"))
    if change.type == "MODIFIED" and m.get("deletionTimestamp") and not (old or {}).get("metadata", {}).get(
            "deletionTimestamp"):
        for container in (pod.get("spec") or {}).get("containers") or []:
            out.append(Occurrence(pod, "Normal", "Killing", f"Stopping container {container.get('name')}",
                                  "kubelet", f"spec.containers{{{container.get('name')}}}"))
    if change.type == "DELETED":
        return out
    before, after = _containers(old), _containers(pod)
    for name, status in after.items():
        image = status.get("image", "")
        path = f"spec.containers{{{name}}}"
        was, now_ = _state(before.get(name)), _state(status)
        restarts = int(status.get("restartCount") or 0)
        restarted = restarts > int((before.get(name) or {}).get("restartCount") or 0)
        if now_ == was and not restarted:
            continue
        if now_ == ("waiting", "ContainerCreating"):
            out.append(Occurrence(pod, "Normal", "Pulling", f'Pulling image "{image}"', "kubelet", path))
        elif now_[0] == "running" or (now_[0] == "terminated" and was[0] in ("", "waiting")) or restarted:
            if restarts == 0 and not restarted:
                out.append(Occurrence(pod, "Normal", "Pulled", f'Successfully pulled image "{image}"', "kubelet",
                                      path))
            else:
                out.append(Occurrence(pod, "Normal", "Pulled",
                                      f'Container image "{image}" already present on machine', "kubelet", path))
            out.append(Occurrence(pod, "Normal", "Created", f"Created container {name}", "kubelet", path))
            out.append(Occurrence(pod, "Normal", "Started", f"Started container {name}", "kubelet", path))
        elif now_ == ("waiting", "CrashLoopBackOff"):
            out.append(Occurrence(pod, "Warning", "BackOff", f"Back-off restarting failed container {name} in pod "
                                                             f"{m['name']}_{m.get('namespace')}({m.get('uid')})",
                                  "kubelet", path))
        elif now_ == ("waiting", "ErrImagePull"):
            out.append(Occurrence(pod, "Warning", "Failed", f'Failed to pull image "{image}": rpc error: code = '
                                                            f'NotFound desc = failed to pull and unpack image '
                                                            f'"{image}": not found', "kubelet", path))
            out.append(Occurrence(pod, "Warning", "Failed", "Error: ErrImagePull", "kubelet", path))
        elif now_ == ("waiting", "ImagePullBackOff"):
            out.append(Occurrence(pod, "Normal", "BackOff", f'Back-off pulling image "{image}"', "kubelet", path))
            out.append(Occurrence(pod, "Warning", "Failed", "Error: ImagePullBackOff", "kubelet", path))
    return out


def _replicas(obj: Obj | None) -> int:
    if obj is None:
        return 0
    return int((obj.get("spec") or {}).get("replicas", 1) or 0)


def _deployment_events(change: Event) -> list[Occurrence]:
    rs = change.obj
    ref = _owner(rs)
    if ref is None or ref.get("kind") != "Deployment" or change.type == "DELETED":
        return []
    before = _replicas(change.old) if change.type == "MODIFIED" else 0
    after = _replicas(rs)
    if before == after:
        return []
    direction = "up" if after > before else "down"
    return [Occurrence(_reference(ref, rs["metadata"].get("namespace", "")), "Normal", "ScalingReplicaSet",
                       f"Scaled {direction} replica set {rs['metadata']['name']} from {before} to {after}",
                       "deployment-controller")]


def _job_events(change: Event) -> list[Occurrence]:
    def complete(job: Obj | None) -> bool:
        return any(c.get("type") == "Complete" and c.get("status") == "True"
                   for c in ((job or {}).get("status") or {}).get("conditions") or [])

    def failed(job: Obj | None) -> str:
        for c in ((job or {}).get("status") or {}).get("conditions") or []:
            if c.get("type") == "Failed" and c.get("status") == "True":
                return str(c.get("message") or c.get("reason") or "Job failed")
        return ""

    if change.type != "MODIFIED":
        return []
    if complete(change.obj) and not complete(change.old):
        return [Occurrence(change.obj, "Normal", "Completed", "Job completed", "job-controller")]
    if failed(change.obj) and not failed(change.old):
        return [Occurrence(change.obj, "Warning", "BackoffLimitExceeded", failed(change.obj), "job-controller")]
    return []


def occurrences(change: Event) -> list[Occurrence]:
    """The events real controllers record for this change of the store (none for Events themselves)."""
    if change.resource == ("", "pods"):
        return _pod_owner_events(change) + _kubelet_events(change)
    if change.resource == ("apps", "replicasets"):
        return _deployment_events(change)
    if change.resource == ("batch", "jobs"):
        return _job_events(change)
    return []


def event_object(occurrence: Occurrence, stamp: str) -> Obj:
    """The core/v1 Event for a first occurrence."""
    regarding = occurrence.regarding
    m = regarding["metadata"]
    involved: dict[str, Any] = {"kind": regarding.get("kind", ""), "name": m["name"], "uid": m.get("uid", ""),
                                "apiVersion": regarding.get("apiVersion", "")}
    if m.get("namespace"):
        involved["namespace"] = m["namespace"]
    if m.get("resourceVersion"):
        involved["resourceVersion"] = m["resourceVersion"]
    if occurrence.field_path:
        involved["fieldPath"] = occurrence.field_path
    source: dict[str, str] = {"component": occurrence.component}
    if occurrence.component == "kubelet":
        source["host"] = NODE_NAME
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{m['name']}.{time.time_ns():x}", "namespace": m.get("namespace") or "default"},
        "involvedObject": involved, "reason": occurrence.reason, "message": occurrence.message,
        "source": source, "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
        "type": occurrence.type, "eventTime": None, "reportingComponent": occurrence.component,
        "reportingInstance": NODE_NAME if occurrence.component == "kubelet" else "",
    }


def correlation_key(occurrence: Occurrence) -> tuple[str, str, str, str, str]:
    m = occurrence.regarding["metadata"]
    return (m.get("uid", "") or m["name"], occurrence.field_path, occurrence.reason, occurrence.message,
            occurrence.type)
