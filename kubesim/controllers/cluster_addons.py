"""The controllers kubesim adds to kube-controller-manager's: Events, CRD establishing, an
ingress controller, the kubelet's end of graceful Pod termination, and the Event TTL.

They run on one thread of their own, fed by store changes (the listener only queues them)
and a heap of timers, and write through the API server's own code path like the others.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kubesim.controllers import events
from kubesim.controllers.context import NODE_IP
from kubesim.crd import lifecycle as crd_lifecycle
from kubesim.crd.rules import CRD_GROUP, CRD_PLURAL
from kubesim.errors import ApiError, Conflict, NotFound
from kubesim.http.params import Params
from kubesim.storage.objects import now
from kubesim.storage.store import Event, Obj
from kubesim.verbs.deletion import DeleteOptions
from kubesim.verbs.operations import Target, WriteContext

if TYPE_CHECKING:
    from kubesim.api import SimAPI

log = logging.getLogger(__name__)

INGRESSES = ("networking.k8s.io", "ingresses")
PODS = ("", "pods")
CRDS = (CRD_GROUP, CRD_PLURAL)
Key = tuple[str, str, str, str]  # (what, namespace, name, uid)


@dataclass(frozen=True)
class AddonSettings:
    ready_delay: float = 1.0
    event_ttl: float = events.EVENT_TTL_SECONDS
    crd_establish_delay: float = 0.2
    termination_grace_scale: float = 1.0


class ClusterAddons:
    def __init__(self, api: SimAPI, settings: AddonSettings) -> None:
        self.api = api
        self.cluster = api.cluster
        self.settings = settings
        self._changes: queue.Queue[Event | None] = queue.Queue()
        self._timers: list[tuple[float, int, Key]] = []
        self._seq = itertools.count()
        self._recorded: dict[tuple[str, str, str, str, str], tuple[str, str]] = {}  # correlation -> (ns, name)
        self._thread = threading.Thread(target=self._run, name="kubesim-addons", daemon=True)
        self._timer_handlers: dict[str, Callable[[str, str, str], None]] = {
            "event-ttl": self._expire_event, "establish": self._establish, "ingress": self._admit_ingress,
            "pod-gone": self._remove_pod}

    def start(self) -> ClusterAddons:
        self.api.deleter.graceful_pods = True
        with self.api.store.lock:
            self.api.store.listeners.append(self._changes.put)
            for resource in (CRDS, INGRESSES):
                for obj in self.api.store.list(resource):
                    self._changes.put(Event(0, "ADDED", resource, obj["metadata"].get("namespace", ""), obj, None))
        self._thread.start()
        return self

    def stop(self) -> None:
        self.api.deleter.graceful_pods = False
        with self.api.store.lock:
            if self._changes.put in self.api.store.listeners:
                self.api.store.listeners.remove(self._changes.put)
        self._changes.put(None)
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------ loop
    def _after(self, delay: float, key: Key) -> None:
        heapq.heappush(self._timers, (time.monotonic() + max(delay, 0.0), next(self._seq), key))

    def _run(self) -> None:
        while True:
            timeout = max(self._timers[0][0] - time.monotonic(), 0.0) if self._timers else None
            try:
                change = self._changes.get(timeout=timeout)
                if change is None:
                    return
                self._guarded(self._on_change, change)
            except queue.Empty:
                pass
            while self._timers and self._timers[0][0] <= time.monotonic():
                _, _, (what, namespace, name, uid) = heapq.heappop(self._timers)
                self._guarded(self._timer_handlers[what], namespace, name, uid)

    @staticmethod
    def _guarded(action: Callable[..., None], *args: object) -> None:
        try:
            action(*args)
        except (Conflict, NotFound):
            pass  # someone else changed or removed it first: the next change brings it back here
        except ApiError as exc:
            log.warning("kubesim add-on %s: the API refused a write: %s", getattr(action, "__name__", action),
                        exc.message)
        except Exception:  # a bug here must not stop the simulated cluster
            log.exception("kubesim add-on %s failed", getattr(action, "__name__", action))

    def _on_change(self, change: Event) -> None:
        obj, m = change.obj, change.obj["metadata"]
        key = (m.get("namespace", ""), m["name"], m.get("uid", ""))
        if change.resource == events.EVENTS and change.type == "ADDED":
            self._after(self.settings.event_ttl, ("event-ttl", *key))
        elif change.resource == CRDS and change.type != "DELETED" and not crd_lifecycle.is_served(obj) \
                and not m.get("deletionTimestamp"):
            self._after(self.settings.crd_establish_delay, ("establish", *key))
        elif change.resource == INGRESSES and change.type != "DELETED" and not _load_balancer(obj):
            self._after(self.settings.ready_delay, ("ingress", *key))
        elif change.resource == PODS and change.type == "MODIFIED" and m.get("deletionTimestamp") \
                and m.get("deletionGracePeriodSeconds") != (change.old or {}).get("metadata", {}).get(
                    "deletionGracePeriodSeconds"):  # marked, or a later DELETE shortened the period
            grace = float(m.get("deletionGracePeriodSeconds") or 0)
            self._after(grace * self.settings.termination_grace_scale, ("pod-gone", *key))
        for occurrence in events.occurrences(change):
            self._record(occurrence)

    # ---------------------------------------------------------------- events
    def _record(self, occurrence: events.Occurrence) -> None:
        ctx = WriteContext(Params(field_manager=occurrence.component), f"{occurrence.component}/v1.31.0 (kubesim)")
        rtype = self.cluster.registry.storage_type(*events.EVENTS)
        assert rtype is not None
        correlation = events.correlation_key(occurrence)
        seen = self._recorded.get(correlation)
        if seen is not None:
            current = self.cluster.store.get(events.EVENTS, *seen)
            if current is not None:
                bumped = {**current, "count": int(current.get("count") or 1) + 1, "lastTimestamp": now()}
                self.cluster.update(Target(rtype, seen[0], seen[1]), bumped, ctx)
                return
        body = events.event_object(occurrence, now())
        namespace = body["metadata"]["namespace"]
        if self.cluster.namespace_of(namespace) is None:
            return  # the namespace is gone with the object the event was about
        with contextlib.suppress(ApiError):  # a namespace being deleted takes no new content
            created = self.cluster.create(Target(rtype, namespace), body, ctx)
            self._recorded[correlation] = (namespace, created["metadata"]["name"])

    def _expire_event(self, namespace: str, name: str, uid: str) -> None:
        current = self.cluster.store.get(events.EVENTS, namespace, name)
        if current is None or current["metadata"].get("uid") != uid:
            return
        rtype = self.cluster.registry.storage_type(*events.EVENTS)
        assert rtype is not None
        self.api.deleter.delete(Target(rtype, namespace, name), DeleteOptions(precondition_uid=uid))
        self._recorded = {k: v for k, v in self._recorded.items() if v != (namespace, name)}

    # ------------------------------------------------------------------ CRDs
    def _establish(self, _: str, name: str, uid: str) -> None:
        crd = self.cluster.store.get(CRDS, "", name)
        if crd is None or crd["metadata"].get("uid") != uid or crd_lifecycle.is_served(crd) \
                or crd["metadata"].get("deletionTimestamp"):
            return
        rtype = self.cluster.registry.storage_type(*CRDS)
        assert rtype is not None
        status = crd_lifecycle.settled_status(crd, self.cluster.store, now())
        body = {"apiVersion": crd["apiVersion"], "kind": crd["kind"],
                "metadata": {"name": name, "resourceVersion": crd["metadata"]["resourceVersion"]}, "status": status}
        ctx = WriteContext(Params(field_manager="kube-apiserver"), "kube-apiserver/v1.31.0 (kubesim)")
        self.cluster.update(Target(rtype, "", name, "status"), body, ctx)

    # ------------------------------------------------------------- ingresses
    def _admit_ingress(self, namespace: str, name: str, uid: str) -> None:
        ingress = self.cluster.store.get(INGRESSES, namespace, name)
        if ingress is None or ingress["metadata"].get("uid") != uid or _load_balancer(ingress):
            return
        rtype = self.cluster.registry.storage_type(*INGRESSES)
        assert rtype is not None
        body = {"apiVersion": ingress["apiVersion"], "kind": ingress["kind"],
                "metadata": {"name": name, "namespace": namespace,
                             "resourceVersion": ingress["metadata"]["resourceVersion"]},
                "status": {"loadBalancer": {"ingress": [{"ip": NODE_IP}]}}}
        ctx = WriteContext(Params(field_manager="ingress-controller"), "ingress-controller/v1.31.0 (kubesim)")
        self.cluster.update(Target(rtype, namespace, name, "status"), body, ctx)

    # ------------------------------------------------------------------ pods
    def _remove_pod(self, namespace: str, name: str, uid: str) -> None:
        pod = self.cluster.store.get(PODS, namespace, name)
        if pod is None or pod["metadata"].get("uid") != uid:
            return
        rtype = self.cluster.registry.storage_type(*PODS)
        assert rtype is not None
        self.api.deleter.delete(Target(rtype, namespace, name), DeleteOptions(precondition_uid=uid,
                                                                               grace_period_seconds=0))


def _load_balancer(ingress: Obj) -> list[object]:
    return list(((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])
