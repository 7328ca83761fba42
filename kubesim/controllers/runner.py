"""Simulated cluster controllers for kubesim (off by default).

`KubeSim(controllers=True, ready_delay=S)` calls `start_controllers(sim)` (see
kubesim.controllers.hooks). One background thread runs every controller: store events put object
keys on a work set, reconcile functions may ask to be woken again after a delay (a heap
of due times), and every write goes through the API server's own code path. The
reconcilers are level-triggered and idempotent, so an extra wake-up costs a no-op.

What runs (one module each): the kubelet of a single node (pods), ReplicaSet,
Deployment, StatefulSet, DaemonSet, Job, PVC binding and LoadBalancer provisioning.
Garbage collection and namespace status are the API server's (kubesim.verbs.deletion,
kubesim.schema.defaults) and are not repeated here.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from kubesim.controllers.context import ControllerContext, ControllerSettings, controller_ref
from kubesim.controllers.daemonsets import DAEMONSETS, reconcile_daemonset
from kubesim.controllers.deployments import DEPLOYMENTS, reconcile_deployment
from kubesim.controllers.jobs import JOBS, reconcile_job
from kubesim.controllers.kubelet import PODS, reconcile_pod
from kubesim.controllers.provisioning import CLAIMS, SERVICES, reconcile_claim, reconcile_service
from kubesim.controllers.replicasets import REPLICASETS, reconcile_replicaset
from kubesim.controllers.sealedsecrets import SEALED_SECRETS, reconcile_sealedsecret
from kubesim.controllers.statefulsets import STATEFULSETS, reconcile_statefulset
from kubesim.errors import AlreadyExists, ApiError, Conflict, NotFound
from kubesim.storage.store import Event, Obj

if TYPE_CHECKING:
    from kubesim.api import SimAPI

__all__ = ["ControllerManager", "ControllerSettings", "start_controllers"]

log = logging.getLogger(__name__)

Reconcile = Callable[[ControllerContext, Obj], "float | None"]
Key = tuple[str, str, str, str]  # (group, plural, namespace, name)

RECONCILERS: dict[tuple[str, str], Reconcile] = {
    PODS: reconcile_pod,
    REPLICASETS: reconcile_replicaset,
    DEPLOYMENTS: reconcile_deployment,
    STATEFULSETS: reconcile_statefulset,
    DAEMONSETS: reconcile_daemonset,
    JOBS: reconcile_job,
    CLAIMS: reconcile_claim,
    SERVICES: reconcile_service,
    SEALED_SECRETS: reconcile_sealedsecret,
}
_RETRY_STALE = 0.02  # a write lost a race with another writer: read again almost at once
_RETRY_ERROR = 1.0  # anything else: do not spin


class ControllerManager:
    """Runs the simulated controllers of one SimAPI on one thread: `start()`, `stop()`, or `with`."""

    def __init__(self, api: SimAPI, settings: ControllerSettings | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.api = api
        self.settings = settings or ControllerSettings()
        self.ctx = ControllerContext(api.cluster, api.deleter, self.settings, clock)
        self._clock = clock
        self._cond = threading.Condition()
        self._pending: dict[Key, None] = {}  # insertion-ordered set
        self._timers: list[tuple[float, int, Key]] = []
        self._due: dict[Key, float] = {}
        self._seq = itertools.count()
        self._forget: list[str] = []
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="kubesim-controllers", daemon=True)

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> ControllerManager:
        with self.api.store.lock:  # no event slips between the snapshot and the subscription
            self.api.store.listeners.append(self._on_event)
            for resource in RECONCILERS:
                for obj in self.api.store.list(resource):
                    self._enqueue(self._key(resource, obj))
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.api.store.lock:
            if self._on_event in self.api.store.listeners:
                self.api.store.listeners.remove(self._on_event)
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def __enter__(self) -> ControllerManager:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------------- events
    @staticmethod
    def _key(resource: tuple[str, str], obj: Obj) -> Key:
        m = obj["metadata"]
        return (resource[0], resource[1], m.get("namespace", ""), m["name"])

    def _enqueue(self, key: Key) -> None:
        with self._cond:
            self._pending[key] = None
            self._cond.notify()

    def _on_event(self, event: Event) -> None:
        """Store listener: runs inside the store lock, so it only records keys and returns."""
        if event.resource in RECONCILERS and event.type != "DELETED":
            self._enqueue(self._key(event.resource, event.obj))
        if event.type == "DELETED":
            with self._cond:
                self._forget.append(event.obj["metadata"].get("uid", ""))
        ref = controller_ref(event.obj)
        if ref is None:
            return
        owner = self.api.registry.for_kind(str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        if owner is None:
            return
        owner_resource = (owner.group, owner.plural)
        if owner_resource in RECONCILERS:
            namespace = event.obj["metadata"].get("namespace", "") if owner.namespaced else ""
            self._enqueue((owner.group, owner.plural, namespace, str(ref.get("name", ""))))

    # ------------------------------------------------------------------- worker
    def _schedule(self, key: Key, delay: float) -> None:
        due = self._clock() + max(delay, 0.0)
        with self._cond:
            if key in self._due and self._due[key] <= due:
                return  # an earlier wake-up is booked; that reconcile books the next one
            self._due[key] = due
            heapq.heappush(self._timers, (due, next(self._seq), key))
            self._cond.notify()

    def _next_batch(self) -> tuple[list[Key], list[str]] | None:
        with self._cond:
            while not self._stopped:
                now = self._clock()
                while self._timers and self._timers[0][0] <= now:
                    due, _, key = heapq.heappop(self._timers)
                    if self._due.get(key) == due:
                        del self._due[key]
                        self._pending[key] = None
                if self._pending or self._forget:
                    keys, self._pending = list(self._pending), {}
                    forget, self._forget = self._forget, []
                    return keys, forget
                timeout = self._timers[0][0] - now if self._timers else None
                self._cond.wait(timeout)
            return None

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            keys, forget = batch
            for uid in forget:
                self.ctx.memory.forget(uid)
            for key in keys:
                wake = self._reconcile(key)
                if wake is not None:
                    self._schedule(key, wake)

    def _reconcile(self, key: Key) -> float | None:
        group, plural, namespace, name = key
        obj = self.api.store.get((group, plural), namespace, name)
        if obj is None:
            return None
        try:
            return RECONCILERS[(group, plural)](self.ctx, obj)
        except (Conflict, NotFound, AlreadyExists):
            return _RETRY_STALE
        except ApiError as exc:
            log.warning("kubesim controller for %s %s/%s: the API refused a write (%s %s): %s", plural,
                        namespace, name, exc.code, exc.reason, exc.message)
            return _RETRY_ERROR
        except Exception:  # a bug in one reconcile must not stop the simulated cluster
            log.exception("kubesim controller for %s %s/%s failed", plural, namespace, name)
            return _RETRY_ERROR


def start_controllers(sim: Any) -> ControllerManager:
    """The kubesim.controllers.hooks entry point: run the controllers for `sim` until its stop().

    Reads `sim.ready_delay` and, when the server offers it, `sim.progress_deadline_scale`.
    """
    settings = ControllerSettings(ready_delay=float(getattr(sim, "ready_delay", 1.0)),
                                  progress_deadline_scale=float(getattr(sim, "progress_deadline_scale", 1.0)))
    return ControllerManager(sim.api, settings).start()
