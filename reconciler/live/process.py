"""`reconciler watch`: hold the clusters the apps deploy to, one ClusterWatcher each.

Several watcher processes may run (replicas of the chart's watch Deployment): each cluster is
held by one of them through a Redis lease (`rc:live-lease:{cluster}`, a fencing token from a
counter, renewed every third of its TTL). The others keep trying; when the holder dies its
lease expires and another takes the cluster over within the TTL, starting with a full LIST
and then a poll of every app on the cluster. The holder writes the index only while its
token is the lease's value (state/live.py checks it in the same Lua step), so a watcher that
was paused past its TTL cannot overwrite its successor's index.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from reconciler import telemetry
from reconciler.engine.cluster import Clusters, KubeError
from reconciler.engine.health.rules.configured import loaded_customizations
from reconciler.live.records import cluster_id
from reconciler.live.watcher import ClusterWatcher
from reconciler.model import Destination
from reconciler.services import clusters_of
from reconciler.settings import Settings
from reconciler.source.git.client import GitCounters
from reconciler.state import Store

log = logging.getLogger("reconciler.watch")

MAX_TICK_SECONDS = 5.0
# How often the registry is read for the clusters apps deploy to (every app manifest: not on
# every lease renewal). A new cluster waits this long for its watcher; its polls LIST meanwhile.
TARGETS_SECONDS = 30.0


def celery_enqueue(store: Store, send_task: Callable[..., Any]) -> Callable[[str], None]:
    """Queue an app's poll on the urgent queue, unless one the watcher queued still waits
    (the poll task clears the mark when it starts), or a sync of the app is running: the
    changes are then mostly its own, and the poll every sync queues when it ends sees any
    other. (Polls on the urgent queue would otherwise crowd out the sync's own steps.)"""

    def enqueue(app: str) -> None:
        if store.lock_holder(app) is None and store.mark_live_poll(app):
            send_task("reconciler.poll", args=(app,), queue="urgent")

    return enqueue


def _destination(manifest: dict[str, Any]) -> Destination:
    dest = (manifest.get("spec") or {}).get("destination") or {}
    return Destination(server=str(dest.get("server") or ""), name=str(dest.get("name") or ""),
                       namespace=str(dest.get("namespace") or ""))


class WatcherProcess:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        enqueue: Callable[[str], None],
        *,
        clusters: Clusters | None = None,
        holder: str = "",
    ) -> None:
        self.settings, self.store, self.enqueue = settings, store, enqueue
        self.clusters = clusters or clusters_of(settings, store)
        self.holder = holder or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.ttl = settings.watch_lease_ttl
        self.watchers: dict[str, ClusterWatcher] = {}
        self._apps: dict[str, set[str]] = {}
        self._namespaces: dict[str, set[str]] = {}
        self._targets_cache: dict[str, Any] = {}
        self._targets_at = -TARGETS_SECONDS
        self._registered = -1
        self._no_git = GitCounters()  # the watcher makes no git request; telemetry wants the counters

    def run(self, stop: threading.Event) -> None:
        log.info("watcher %s started", self.holder)
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:  # Redis down, a bad kubeconfig: keep trying, say why
                    log.exception("watcher tick failed; retrying")
                stop.wait(min(self.ttl / 3, MAX_TICK_SECONDS))
        finally:
            self.shutdown()

    def tick(self) -> None:
        registered = self.store.app_count()  # O(1): an app added or removed reads the registry now
        if registered != self._registered or time.monotonic() - self._targets_at >= TARGETS_SECONDS or any(
            not w.alive for w in self.watchers.values()
        ):
            self._targets_cache, self._targets_at = self._targets(), time.monotonic()
            self._registered = registered
        targets = self._targets_cache
        for cid, cluster in targets.items():
            watcher = self.watchers.get(cid)
            if watcher is not None and not (
                watcher.alive and self.store.renew_watch_lease(cid, watcher.token, self.ttl)
            ):
                watcher.stop()
                self.store.release_watch_lease(cid, watcher.token)
                del self.watchers[cid]
                watcher = None
            if watcher is None:
                token = self.store.acquire_watch_lease(cid, self.holder, self.ttl)
                if token:
                    log.info("holding %s (token %s): listing everything", cluster.server, token)
                    self.watchers[cid] = ClusterWatcher(
                        cluster, self.store, token, self.enqueue,
                        exclusions=self.settings.resource_exclusions,
                        debounce=self.settings.watch_debounce,
                        apps_on_cluster=lambda cid=cid: set(self._apps.get(cid, ())),
                        namespaces=lambda cid=cid: set(self._namespaces.get(cid, ())),
                        customizations=lambda: loaded_customizations(self.settings),
                    ).start()
        for cid in [c for c in self.watchers if c not in targets]:
            self._let_go(cid)
        # The watcher's LISTs and WATCHes in reconciler_k8s_request_total, like the workers' requests.
        telemetry.flush_process_counters(self.store, self._no_git, self.clusters)

    def shutdown(self) -> None:
        for cid in list(self.watchers):
            self._let_go(cid)

    def _let_go(self, cid: str) -> None:
        watcher = self.watchers.pop(cid)
        watcher.stop()
        watcher.join()
        self.store.release_watch_lease(cid, watcher.token)

    def _targets(self) -> dict[str, Any]:
        """The clusters registered apps deploy to, with their apps and namespaces."""
        targets: dict[str, Any] = {}
        apps: dict[str, set[str]] = {}
        namespaces: dict[str, set[str]] = {}
        for name, manifest in self.store.app_manifests().items():
            destination = _destination(manifest)
            try:
                cluster = self.clusters.for_destination(destination)
            except KubeError as exc:
                log.warning("app %s: %s", name, exc)
                continue
            cid = cluster_id(cluster.server)
            targets[cid] = cluster
            apps.setdefault(cid, set()).add(name)
            namespaces.setdefault(cid, set()).add(destination.namespace)
        # The poll of every app after a full LIST leaves out apps never polled: registering
        # them queued their first poll already, and two first polls would render twice.
        for cid, names in apps.items():
            apps[cid] = self.store.apps_with_status(names)
        if any(w._per_namespace for w in self.watchers.values()):
            for cid, names in apps.items():
                for name in names:  # where the app's objects went before (its inventory)
                    namespaces[cid].update(str(e.get("namespace") or "") for e in self.store.inventory(name).values())
        self._apps, self._namespaces = apps, namespaces
        return targets
