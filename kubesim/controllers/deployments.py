"""The Deployment controller: one ReplicaSet per pod template, rollouts, and the status and
conditions kube-controller-manager writes (pkg/controller/deployment, sync.go/progress.go).

RollingUpdate moves in maxSurge/maxUnavailable steps as rolling.go does (the new
ReplicaSet grows while the total stays within replicas + maxSurge; old ones shrink while
replicas - maxUnavailable stay available), so a broken new image leaves the old pods
serving. Recreate scales old ReplicaSets to 0 and the new one up once their pods are gone.
Scaling without a rollout resizes the newest ReplicaSet (no proportional scaling).
"""

from __future__ import annotations

import math
from typing import Any

from kubesim.controllers.conditions import drop, find, put
from kubesim.controllers.context import ControllerContext, owner_reference
from kubesim.controllers.kubelet import PODS
from kubesim.controllers.replicasets import REPLICASETS
from kubesim.controllers.templates import POD_TEMPLATE_HASH, template_hash, with_labels, without_label
from kubesim.errors import AlreadyExists
from kubesim.storage.objects import clone
from kubesim.storage.store import Obj

DEPLOYMENTS = ("apps", "deployments")
REVISION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
_PROGRESS = "progress"  # memory mark: when the rollout last made progress (for the deadline)
_TERMINATING_RECHECK = 0.1  # seconds between looks at terminating pods a Recreate rollout waits for


def _resolve(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        share = total * float(value[:-1]) / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(value or 0)


def surge_and_unavailable(deployment: Obj) -> tuple[int, int]:
    """maxSurge (rounded up) and maxUnavailable (rounded down) as counts; both 0 means 1 unavailable."""
    spec = deployment.get("spec") or {}
    strategy = spec.get("strategy") or {}
    desired = int(spec.get("replicas", 1))
    if strategy.get("type", "RollingUpdate") != "RollingUpdate" or desired == 0:
        return 0, 0
    rolling = strategy.get("rollingUpdate") or {}
    surge = _resolve(rolling.get("maxSurge", "25%"), desired, True)
    unavailable = _resolve(rolling.get("maxUnavailable", "25%"), desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, desired)


def _revision(rs: Obj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _int_status(obj: Obj, key: str) -> int:
    return int((obj.get("status") or {}).get(key) or 0)


class _Rollout:
    """One reconcile of one Deployment."""

    def __init__(self, ctx: ControllerContext, deployment: Obj) -> None:
        self.ctx = ctx
        self.d = deployment
        self.m = deployment["metadata"]
        self.spec = deployment.get("spec") or {}
        self.namespace = self.m.get("namespace", "")
        self.desired = int(self.spec.get("replicas", 1))
        self.created_rs = False

    def owned(self) -> list[Obj]:
        return self.ctx.owned(REPLICASETS, self.namespace, self.m["uid"])

    def find_new(self, replica_sets: list[Obj]) -> Obj | None:
        wanted = without_label(self.spec.get("template"), POD_TEMPLATE_HASH)
        matching = [rs for rs in replica_sets
                    if without_label((rs.get("spec") or {}).get("template"), POD_TEMPLATE_HASH) == wanted]
        return min(matching, key=lambda rs: rs["metadata"].get("creationTimestamp", "")) if matching else None

    def create_new(self, old: list[Obj]) -> Obj | None:
        """Create the ReplicaSet of the current template; None after a name collision (retry next time)."""
        collisions = _int_status(self.d, "collisionCount")
        pod_hash = template_hash(self.spec.get("template"), collisions)
        surge, _ = surge_and_unavailable(self.d)
        # With old pods still around the new set starts empty; roll() then grows it step by step.
        busy = any(_int_status(rs, "replicas") or int((rs.get("spec") or {}).get("replicas", 1)) for rs in old)
        selector = clone(self.spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[POD_TEMPLATE_HASH] = pod_hash
        template = with_labels(self.spec.get("template"), {POD_TEMPLATE_HASH: pod_hash})
        rs = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {
                "name": f"{self.m['name']}-{pod_hash}", "namespace": self.namespace,
                "labels": dict(template["metadata"]["labels"]),
                "annotations": {DESIRED_REPLICAS: str(self.desired), MAX_REPLICAS: str(self.desired + surge),
                                REVISION: str(max([_revision(r) for r in old], default=0) + 1)},
                "ownerReferences": [owner_reference(self.d)],
            },
            "spec": {"replicas": 0 if busy else self.desired, "selector": selector,
                     "template": template},
        }
        if self.spec.get("minReadySeconds"):
            rs["spec"]["minReadySeconds"] = self.spec["minReadySeconds"]
        try:
            created = self.ctx.create(REPLICASETS, self.namespace, rs)
        except AlreadyExists:
            # Same hash, different template (or not ours): count the collision so the next hash differs.
            status = clone(self.d.get("status") or {})
            status["collisionCount"] = collisions + 1
            self.ctx.update_status(DEPLOYMENTS, self.d, status)
            return None
        self.created_rs = True
        return created

    def scale(self, rs: Obj, replicas: int) -> None:
        surge, _ = surge_and_unavailable(self.d)
        annotations = {DESIRED_REPLICAS: str(self.desired), MAX_REPLICAS: str(self.desired + surge)}
        current = rs["metadata"].get("annotations") or {}
        if int((rs.get("spec") or {}).get("replicas", 1)) == replicas and all(
                current.get(k) == v for k, v in annotations.items()):
            return
        changed = clone(rs)
        changed["spec"]["replicas"] = replicas
        changed["metadata"].setdefault("annotations", {}).update(annotations)
        self.ctx.update(REPLICASETS, changed)

    def set_revision(self, rs: Obj, revision: int) -> Obj:
        if _revision(rs) == revision:
            return rs
        changed = clone(rs)
        changed["metadata"].setdefault("annotations", {})[REVISION] = str(revision)
        return self.ctx.update(REPLICASETS, changed)

    def roll(self, new: Obj, old: list[Obj]) -> float | None:
        """Move replicas towards the new ReplicaSet; seconds until a recheck when waiting on terminating pods."""
        recreate = (self.spec.get("strategy") or {}).get("type") == "Recreate"
        if recreate:
            for rs in old:
                self.scale(rs, 0)
            # Recreate starts new pods only once the old ones are gone, terminating ones included
            # (oldPodsRunning); their removal does not wake the Deployment, so look again soon.
            terminating = any(self.ctx.owned(PODS, self.namespace, rs["metadata"]["uid"]) for rs in old)
            old_pods_left = terminating or any(_int_status(rs, "replicas") for rs in old)
            self.scale(new, 0 if old_pods_left else self.desired)
            return _TERMINATING_RECHECK if terminating else None
        replicas = {rs["metadata"]["uid"]: int((rs.get("spec") or {}).get("replicas", 1)) for rs in [new, *old]}
        new_uid = new["metadata"]["uid"]
        if not any(replicas[rs["metadata"]["uid"]] for rs in old):
            self.scale(new, self.desired)  # no rollout in flight: a plain scale
            return None
        surge, unavailable = surge_and_unavailable(self.d)
        room = self.desired + surge - sum(replicas.values())
        if replicas[new_uid] < self.desired and room > 0:
            replicas[new_uid] = min(self.desired, replicas[new_uid] + room)
            self.scale(new, replicas[new_uid])
        new_unavailable = max(replicas[new_uid] - _int_status(new, "availableReplicas"), 0)
        can_remove = sum(replicas.values()) - (self.desired - unavailable) - new_unavailable
        for rs in sorted(old, key=_revision):
            if can_remove <= 0:
                break
            shrink = min(replicas[rs["metadata"]["uid"]], can_remove)
            if shrink:
                self.scale(rs, replicas[rs["metadata"]["uid"]] - shrink)
                can_remove -= shrink
        return None

    def clean_up(self, old: list[Obj]) -> None:
        limit = int(self.spec.get("revisionHistoryLimit", 10))
        idle = [rs for rs in old if not int((rs.get("spec") or {}).get("replicas", 1)) and not
                _int_status(rs, "replicas")]
        idle.sort(key=_revision)
        for rs in idle[: max(len(idle) - limit, 0)]:
            self.ctx.delete(REPLICASETS, rs)

    def annotate_revision(self, new: Obj | None) -> Obj:
        """The Deployment carries the revision of its newest ReplicaSet, as on a real cluster."""
        if new is None:
            return self.d
        revision = (new["metadata"].get("annotations") or {}).get(REVISION)
        if not revision or (self.m.get("annotations") or {}).get(REVISION) == revision:
            return self.d
        changed = clone(self.d)
        changed["metadata"].setdefault("annotations", {})[REVISION] = revision
        return self.ctx.update(DEPLOYMENTS, changed)


def _counts(deployment: Obj, new: Obj | None, replica_sets: list[Obj]) -> dict[str, int]:
    available = sum(_int_status(rs, "availableReplicas") for rs in replica_sets)
    total_spec = sum(int((rs.get("spec") or {}).get("replicas", 1)) for rs in replica_sets)
    return {
        "observedGeneration": int(deployment["metadata"].get("generation") or 1),
        "replicas": sum(_int_status(rs, "replicas") for rs in replica_sets),
        "updatedReplicas": _int_status(new, "replicas") if new is not None else 0,
        "readyReplicas": sum(_int_status(rs, "readyReplicas") for rs in replica_sets),
        "availableReplicas": available,
        "unavailableReplicas": max(total_spec - available, 0),
    }


def _progressed(old: dict[str, Any], new: dict[str, int]) -> bool:
    """deploymentutil.DeploymentProgressing: more updated/ready/available pods, or fewer old ones."""
    def get(status: dict[str, Any], key: str) -> int:
        return int(status.get(key) or 0)

    old_old = get(old, "replicas") - get(old, "updatedReplicas")
    new_old = new["replicas"] - new["updatedReplicas"]
    return (new["updatedReplicas"] > get(old, "updatedReplicas") or new_old < old_old
            or new["readyReplicas"] > get(old, "readyReplicas")
            or new["availableReplicas"] > get(old, "availableReplicas"))


def _rollout_conditions(ctx: ControllerContext, rollout: _Rollout, new: Obj | None, counts: dict[str, int],
                        conditions: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], float | None]:
    """The Progressing condition (syncRolloutStatus); returns it and when to look again for the deadline."""
    d, spec = rollout.d, rollout.spec
    old_status = d.get("status") or {}
    subject = f'ReplicaSet "{new["metadata"]["name"]}"' if new is not None else f'Deployment "{d["metadata"]["name"]}"'
    if spec.get("paused"):
        current = find(conditions, "Progressing")
        if current is None or current.get("reason") != "DeploymentPaused":
            conditions = put(conditions, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused",
                             update_time=True, touch=True)
        return conditions, None
    if (find(conditions, "Progressing") or {}).get("reason") == "DeploymentPaused":
        conditions = put(conditions, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed",
                         update_time=True, touch=True)
        ctx.mark(d, _PROGRESS, reset=True)
    deadline_seconds = spec.get("progressDeadlineSeconds")
    if deadline_seconds is None:
        return drop(conditions, "Progressing"), None
    if rollout.created_rs and new is not None:
        conditions = put(conditions, "Progressing", "True", "NewReplicaSetCreated",
                         f'Created new replica set "{new["metadata"]["name"]}"', update_time=True, touch=True)
        ctx.mark(d, _PROGRESS, reset=True)
    elif find(conditions, "Progressing") is None and new is not None:
        conditions = put(conditions, "Progressing", "True", "FoundNewReplicaSet",
                         f'Found new replica set "{new["metadata"]["name"]}"', update_time=True, touch=True)
        ctx.mark(d, _PROGRESS, reset=True)
    current = find(conditions, "Progressing") or {}
    if counts["replicas"] == counts["updatedReplicas"] and current.get("reason") == "NewReplicaSetAvailable":
        return conditions, None
    desired = rollout.desired
    if (counts["updatedReplicas"] == desired and counts["replicas"] == desired
            and counts["availableReplicas"] == desired
            and counts["observedGeneration"] >= int(d["metadata"].get("generation") or 1)):
        conditions = put(conditions, "Progressing", "True", "NewReplicaSetAvailable",
                         f"{subject} has successfully progressed.", update_time=True)
        ctx.unmark(d, _PROGRESS)
        return conditions, None
    if _progressed(old_status, counts):
        conditions = put(conditions, "Progressing", "True", "ReplicaSetUpdated", f"{subject} is progressing.",
                         update_time=True, touch=True)
        ctx.mark(d, _PROGRESS, reset=True)
    if current.get("reason") == "ProgressDeadlineExceeded":
        return conditions, None
    remaining = float(deadline_seconds) * ctx.settings.progress_deadline_scale - ctx.mark(d, _PROGRESS)
    if remaining <= 0:
        conditions = put(conditions, "Progressing", "False", "ProgressDeadlineExceeded",
                         f"{subject} has timed out progressing.", update_time=True)
        return conditions, None
    return conditions, remaining


def reconcile_deployment(ctx: ControllerContext, deployment: Obj) -> float | None:
    if deployment["metadata"].get("deletionTimestamp"):
        return None
    rollout = _Rollout(ctx, deployment)
    replica_sets = rollout.owned()
    new = rollout.find_new(replica_sets)
    old = [rs for rs in replica_sets if rs is not new]
    paused = bool(rollout.spec.get("paused"))
    if new is None and not paused:
        new = rollout.create_new(old)
        if new is None:
            return 0.0
    elif new is not None and not paused:
        newest_old = max([_revision(rs) for rs in old], default=0)
        if _revision(new) <= newest_old:  # a rollback to an older template makes it the newest revision
            new = rollout.set_revision(new, newest_old + 1)
    recheck: float | None = None
    if new is not None and not paused:
        recheck = rollout.roll(new, old)
        rollout.clean_up(old)
    deployment = rollout.d = rollout.annotate_revision(new)
    replica_sets = rollout.owned()
    new = next((rs for rs in replica_sets if new is not None and rs["metadata"]["uid"] == new["metadata"]["uid"]),
               None)
    counts = _counts(deployment, new, replica_sets)
    old_status = deployment.get("status") or {}
    _, max_unavailable = surge_and_unavailable(deployment)
    conditions = old_status.get("conditions")
    if counts["availableReplicas"] >= rollout.desired - max_unavailable:
        conditions = put(conditions, "Available", "True", "MinimumReplicasAvailable",
                         "Deployment has minimum availability.", update_time=True)
    else:
        conditions = put(conditions, "Available", "False", "MinimumReplicasUnavailable",
                         "Deployment does not have minimum availability.", update_time=True)
    conditions, wake = _rollout_conditions(ctx, rollout, new, counts, conditions)
    # omitempty in apps/v1 DeploymentStatus: zero counts are not serialised
    status: dict[str, Any] = {k: v for k, v in counts.items() if v}
    if conditions:
        status["conditions"] = conditions
    if old_status.get("collisionCount"):
        status["collisionCount"] = old_status["collisionCount"]
    ctx.update_status(DEPLOYMENTS, deployment, status)
    return min(w for w in (wake, recheck) if w is not None) if wake is not None or recheck is not None else None
