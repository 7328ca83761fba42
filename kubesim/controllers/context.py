"""What a simulated controller may do: read the store, write through the API server's own
code path (so writes bump resourceVersion, record managedFields and reach watchers),
remember per-object timings, and ask to be woken up later.

Writes go through `Cluster.create/update` and `Deleter.delete`, never `store.commit`,
so defaults, validation, generation and no-op detection behave as for any client.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubesim.errors import NotFound
from kubesim.http.params import Params
from kubesim.schema.catalogue import ResourceType
from kubesim.storage.objects import clone
from kubesim.storage.store import Obj
from kubesim.verbs.deletion import DeleteOptions, Deleter
from kubesim.verbs.operations import Cluster, Target, WriteContext

# The managers real clusters record for these writes (visible in metadata.managedFields).
CONTROLLER_MANAGER = "kube-controller-manager"
KUBELET = "kubelet"
NODE_NAME = "kubesim-node"
NODE_IP = "172.18.0.2"

GroupResource = tuple[str, str]


@dataclass(frozen=True)
class ControllerSettings:
    """How fast the simulated cluster moves.

    ready_delay: seconds from a pod's (or claim's, or load balancer's) creation until it
    is running/bound/provisioned; also the unit of crash and pull back-off.
    progress_deadline_scale: factor applied to spec.progressDeadlineSeconds, so tests can
    see ProgressDeadlineExceeded quickly (0.01 turns the default 600 s into 6 s).
    """

    ready_delay: float = 1.0
    progress_deadline_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.ready_delay < 0:
            raise ValueError(f"ready_delay must be >= 0 seconds, got {self.ready_delay}")
        if self.progress_deadline_scale <= 0:
            raise ValueError(f"progress_deadline_scale must be > 0, got {self.progress_deadline_scale}")


@dataclass
class Memory:
    """What controllers remember between reconciles, keyed by object uid (lost with the process,
    as a restarted kube-controller-manager loses its caches)."""

    first_seen: dict[str, float] = field(default_factory=dict)
    marks: dict[tuple[str, str], float] = field(default_factory=dict)
    pod_ips: dict[str, str] = field(default_factory=dict)
    lb_ips: dict[str, str] = field(default_factory=dict)

    def forget(self, uid: str) -> None:
        self.first_seen.pop(uid, None)
        self.pod_ips.pop(uid, None)
        self.lb_ips.pop(uid, None)
        for key in [k for k in self.marks if k[0] == uid]:
            del self.marks[key]


class ControllerContext:
    """The toolbox handed to every reconcile function."""

    def __init__(self, cluster: Cluster, deleter: Deleter, settings: ControllerSettings,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cluster = cluster
        self.deleter = deleter
        self.settings = settings
        self.clock = clock
        self.memory = Memory()
        self._next_pod_ip = 10
        self._next_lb_ip = 1

    # ------------------------------------------------------------------ reading
    def rtype(self, group: str, plural: str) -> ResourceType:
        rtype = self.cluster.registry.storage_type(group, plural)
        if rtype is None:  # a built-in type: only a broken catalogue gets here
            raise LookupError(f"kubesim's catalogue has no {plural}.{group or 'core'}")
        return rtype

    def get(self, resource: GroupResource, namespace: str, name: str) -> Obj | None:
        return self.cluster.store.get(resource, namespace, name)

    def owned(self, resource: GroupResource, namespace: str, owner_uid: str) -> list[Obj]:
        """Objects in `namespace` whose controlling owner is `owner_uid`, oldest first."""
        out = self.cluster.store.controlled_by(resource, namespace, owner_uid)
        out.sort(key=lambda o: (o["metadata"].get("creationTimestamp", ""), int(o["metadata"]["resourceVersion"])))
        return out

    # ------------------------------------------------------------------ writing
    @staticmethod
    def _write_context(manager: str) -> WriteContext:
        return WriteContext(Params(field_manager=manager), user_agent=f"{manager}/v1.31.0 (kubesim)")

    def create(self, resource: GroupResource, namespace: str, obj: Obj, manager: str = CONTROLLER_MANAGER) -> Obj:
        return self.cluster.create(Target(self.rtype(*resource), namespace), clone(obj), self._write_context(manager))

    def update(self, resource: GroupResource, obj: Obj, manager: str = CONTROLLER_MANAGER) -> Obj:
        """Replace the main resource; `obj` carries the resourceVersion it was read at (409 when stale)."""
        m = obj["metadata"]
        target = Target(self.rtype(*resource), m.get("namespace", ""), m["name"])
        return self.cluster.update(target, clone(obj), self._write_context(manager))

    def update_status(self, resource: GroupResource, obj: Obj, status: dict[str, Any],
                      manager: str = CONTROLLER_MANAGER) -> Obj:
        """Write `status` through the status subresource, unless it is what is stored already."""
        if obj.get("status") == status:
            return obj
        m = obj["metadata"]
        target = Target(self.rtype(*resource), m.get("namespace", ""), m["name"], "status")
        body = {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
                "metadata": {"name": m["name"], "namespace": m.get("namespace", ""),
                             "resourceVersion": m["resourceVersion"]},
                "status": status}
        if not m.get("namespace"):
            body["metadata"].pop("namespace")
        return self.cluster.update(target, body, self._write_context(manager))

    def delete(self, resource: GroupResource, obj: Obj) -> None:
        m = obj["metadata"]
        target = Target(self.rtype(*resource), m.get("namespace", ""), m["name"])
        with contextlib.suppress(NotFound):  # someone else deleted it first: the goal is reached
            self.deleter.delete(target, DeleteOptions(propagation_policy="Background",
                                                      precondition_uid=m.get("uid", "")))

    # ------------------------------------------------------------------ timing
    def age(self, obj: Obj) -> float:
        """Seconds since a controller first saw this object (timestamps have 1 s resolution, too coarse)."""
        uid = obj["metadata"].get("uid", "")
        first = self.memory.first_seen.setdefault(uid, self.clock())
        return self.clock() - first

    def mark(self, obj: Obj, what: str, reset: bool = False) -> float:
        """Seconds since `what` was first marked on this object (0 when marked now)."""
        key = (obj["metadata"].get("uid", ""), what)
        if reset or key not in self.memory.marks:
            self.memory.marks[key] = self.clock()
        return self.clock() - self.memory.marks[key]

    def unmark(self, obj: Obj, what: str) -> None:
        self.memory.marks.pop((obj["metadata"].get("uid", ""), what), None)

    # ------------------------------------------------------------ allocations
    def pod_ip(self, uid: str) -> str:
        if uid not in self.memory.pod_ips:
            n = self._next_pod_ip
            self._next_pod_ip += 1
            self.memory.pod_ips[uid] = f"10.244.{(n // 250) % 256}.{n % 250 + 2}"
        return self.memory.pod_ips[uid]

    def load_balancer_ip(self, uid: str) -> str:
        """An address from TEST-NET-1 (192.0.2.0/24, RFC 5737), never routable."""
        if uid not in self.memory.lb_ips:
            n = self._next_lb_ip
            self._next_lb_ip = n % 254 + 1
            self.memory.lb_ips[uid] = f"192.0.2.{n}"
        return self.memory.lb_ips[uid]


def controller_ref(obj: Obj) -> dict[str, Any] | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def owner_reference(owner: Obj) -> dict[str, Any]:
    """The reference a controller puts on what it creates (blockOwnerDeletion as real controllers set it)."""
    m = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": m["name"], "uid": m["uid"],
            "controller": True, "blockOwnerDeletion": True}
