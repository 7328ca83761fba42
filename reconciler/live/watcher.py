"""One cluster's watches, held by this process under the cluster's lease.

    ClusterWatcher(cluster, store, token, enqueue, ...).start() / .stop()

One thread per watched kind (cluster-wide; per namespace where RBAC forbids the cluster-wide
LIST) LISTs the kind in pages, then WATCHes from the list's resourceVersion with bookmarks. A
stream that ends (the server's timeout) or breaks is resumed from the last resourceVersion it
delivered, after a backoff with jitter when it failed; `410 Gone` (that version left the
server's history) means a fresh LIST. One processor thread owns the Graph: it applies what the
kind threads report, writes the index to Redis fenced by the lease token, and queues polls:

- an app whose tracked objects (or objects under them) changed is queued at once, then at
  most once per `debounce` seconds while changes keep coming (a rollout's Pod events);
- after the first full LIST and after any relist (a gap: the takeover of a dead watcher, a
  410), every app on the cluster is queued once, so no change made in the gap is missed.

Kinds come from discovery (preferred versions, listable, not excluded), looked at again soon
after any CustomResourceDefinition changes (so CRDs are watched as they appear and dropped as
they go) and every DISCOVERY_SECONDS besides.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.cluster import Cluster, KubeError
from reconciler.engine.cluster.resource_types import ResourceType
from reconciler.engine.health.rules.configured import Customizations
from reconciler.live.graph import Graph
from reconciler.live.records import cluster_id, type_key
from reconciler.state import Keys, Store

log = logging.getLogger("reconciler.watch")

FLUSH_SECONDS = 0.05
HEARTBEAT_SECONDS = 2.0
# Discovery again as a safety net (an aggregated API appearing); CRDs are picked up from
# their own watch within CRD_SETTLE_SECONDS.
DISCOVERY_SECONDS = 300.0
NAMESPACES_SECONDS = 30.0  # per-namespace watches follow the namespaces apps use
CRD_SETTLE_SECONDS = 1.0
WATCH_TIMEOUT_RANGE = (240, 360)  # a watch is re-opened every few minutes, at jittered times
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
MAX_OPS_PER_WRITE = 2000
QUICK_END_SECONDS = 1.0
INBOX_SIZE = 2000  # events or LIST pages (of 500 objects) waiting for the processor
WATCH_POOL_SIZE = 512
CRD_KEY = "apiextensions.k8s.io/CustomResourceDefinition"


def backoff(failures: int) -> float:
    """0.5, 1, 2, ... up to 30 s, each scaled by a random 0.5-1.5 so watchers cut off together
    do not come back together."""
    return min(BACKOFF_BASE_SECONDS * 2 ** max(failures - 1, 0), BACKOFF_MAX_SECONDS) * random.uniform(0.5, 1.5)


def excluded(kind_key: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(kind_key, p) for p in patterns)


@dataclass
class Stats:
    events: int = 0
    lists: int = 0
    relists: int = 0
    gone: int = 0  # 410 answers
    watch_errors: int = 0
    polls_queued: int = 0
    full_compares: int = 0
    writes: int = 0
    last_error: str = ""
    queued_apps: list[str] = field(default_factory=list)  # the latest few, for tests and logs


class _Scope(threading.Thread):
    """LIST then WATCH one kind, cluster-wide (namespace None) or in one namespace."""

    def __init__(self, owner: ClusterWatcher, rtype: ResourceType, namespace: str | None) -> None:
        super().__init__(daemon=True, name=f"watch-{rtype.kind}-{namespace or '*'}")
        self.owner, self.rtype, self.namespace = owner, rtype, namespace
        self.kind_key = type_key(rtype.api_version, rtype.kind)
        self.stopped = threading.Event()

    def run(self) -> None:
        owner, cluster = self.owner, self.owner.cluster
        rv, need_list, listed_before, failures = "", True, False, 0
        down = False  # reported interrupted: polls LIST this kind until it is watched again
        while not self.stopped.is_set() and not owner.stopped.is_set():
            try:
                if need_list:
                    uids: set[str] = set()
                    first_rv = ""
                    for items, list_rv in cluster.list_pages(self.rtype, self.namespace):
                        first_rv = first_rv or list_rv  # the list's snapshot: watch from there
                        uids.update(str((o.get("metadata") or {}).get("uid", "")) for o in items)
                        owner.report(("page", self, items))
                    rv = first_rv or rv
                    owner.report(("listed", self, uids, listed_before))
                    need_list, listed_before, down = False, True, False
                timeout = random.randint(*WATCH_TIMEOUT_RANGE)
                opened, delivered = time.monotonic(), 0
                events = cluster.watch(self.rtype, self.namespace, rv, timeout)
                if down and not need_list:  # watching again from where it stopped: nothing missed
                    owner.report(("resumed", self))
                    down = False
                for event_type, obj in events:
                    delivered += 1
                    if self.stopped.is_set() or owner.stopped.is_set():
                        return
                    if event_type == "ERROR":
                        if obj.get("code") == 410:
                            owner.stats.gone += 1
                            need_list = True
                            if not down:
                                owner.report(("interrupted", self))  # until the relist is in
                                down = True
                            break
                        raise KubeError(f"watch {self.rtype.kind}: {obj.get('message', obj)}",
                                        status=int(obj.get("code") or 0))
                    rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
                    if event_type != "BOOKMARK":
                        owner.report(("event", self, event_type, obj))
                if not need_list and not delivered and time.monotonic() - opened < QUICK_END_SECONDS:
                    # A server closing streams as soon as they open (shutting down, overloaded):
                    # come back after a backoff rather than spin.
                    if not down:
                        owner.report(("interrupted", self))
                        down = True
                    failures += 1
                    self.stopped.wait(backoff(failures))
                    continue
                failures = 0
            except KubeError as exc:
                if exc.status == 403:
                    owner.report(("forbidden", self))
                    return
                if exc.status == 410:
                    need_list = True
                if not down:
                    owner.report(("interrupted", self))  # the index may miss changes until resumed
                    down = True
                failures += 1
                owner.stats.watch_errors += 1
                owner.stats.last_error = str(exc)
                log.warning("watch %s interrupted (%s); resuming", self.rtype.kind, exc)
                self.stopped.wait(backoff(failures))


class ClusterWatcher:
    def __init__(
        self,
        cluster: Cluster,
        store: Store,
        token: str,
        enqueue: Callable[[str], None],
        *,
        exclusions: tuple[str, ...] = (),
        debounce: float = 1.0,
        apps_on_cluster: Callable[[], set[str]] = set,
        namespaces: Callable[[], set[str]] = set,
        customizations: Callable[[], Customizations] = Customizations,
    ) -> None:
        """`customizations`: the process's resource customizations (health checks and
        ignoreResourceUpdates rules of the objects it records), read again at each change."""
        self.cluster, self.store, self.token, self.enqueue = cluster, store, token, enqueue
        self.cid = cluster_id(cluster.server)
        self.exclusions, self.debounce = exclusions, debounce
        self.apps_on_cluster, self.namespaces = apps_on_cluster, namespaces
        self.graph = Graph(self.cid, cluster.field_manager, customizations)
        self.stats = Stats()
        self.stopped = threading.Event()
        self.lost = False  # the lease went to another watcher
        # Bounded: kind threads wait when the processor is behind (a first LIST of a big cluster)
        # rather than pile pages up in memory.
        self._inbox: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=INBOX_SIZE)
        self._scopes: dict[tuple[str, str | None], _Scope] = {}
        self._types: dict[str, ResourceType] = {}
        self._cluster_scoped: list[list[str]] = []  # every served cluster-scoped kind, excluded or not
        self._coverage: dict[str, Any] = {}  # kind key -> "*" | "-" | [namespaces listed]
        self._per_namespace: set[str] = set()  # kinds whose cluster-wide LIST is forbidden
        self._pending: dict[str, float] = {}
        self._last_queued: dict[str, float] = {}
        self._full_compare_due = False
        self._initial_done = False
        self._processor = threading.Thread(target=self._process, daemon=True, name=f"watch-processor-{self.cid}")
        # One pooled connection per open watch, besides the LISTs and the GETs of polls.
        cluster.widen_connection_pool(WATCH_POOL_SIZE)

    # lifecycle -------------------------------------------------------------------------

    def start(self) -> ClusterWatcher:
        """Resync from nothing: the previous holder's index is dropped (polls LIST the cluster
        until this watcher's first full LIST is written and its coverage published)."""
        ops: list[tuple[str, ...]] = [("del", Keys.live_meta(self.cid))]
        for app in self.store.live_apps(self.cid):
            ops += [("del", Keys.live_app(self.cid, app)), ("del", Keys.live_tree(self.cid, app))]
        ops.append(("del", Keys.live_apps(self.cid)))
        ops += [("del", Keys.live_namespace(self.cid, ns)) for ns in self.store.live_namespace_names(self.cid)]
        ops.append(("del", Keys.live_namespaces(self.cid)))
        for start in range(0, len(ops), MAX_OPS_PER_WRITE):
            self._write(ops[start:start + MAX_OPS_PER_WRITE])
        self._processor.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        for scope in self._scopes.values():
            scope.stopped.set()

    def join(self, timeout: float = 5.0) -> None:
        self._processor.join(timeout)

    @property
    def alive(self) -> bool:
        return self._processor.is_alive() and not self.stopped.is_set()

    def report(self, item: tuple[Any, ...]) -> None:
        self._inbox.put(item)

    @property
    def coverage(self) -> dict[str, Any]:
        return dict(self._coverage)

    # the processor -----------------------------------------------------------------------

    def _process(self) -> None:
        try:
            self._discover()
            next_flush = next_beat = 0.0
            next_discovery = time.monotonic() + DISCOVERY_SECONDS
            next_namespaces = time.monotonic() + NAMESPACES_SECONDS
            while not self.stopped.is_set():
                try:
                    item = self._inbox.get(timeout=FLUSH_SECONDS)
                    self._apply(item)
                    while True:  # drain what is there before writing, to batch the writes
                        self._apply(self._inbox.get_nowait())
                except queue.Empty:
                    pass
                now = time.monotonic()
                if now >= next_flush or len(self.graph.ops) >= MAX_OPS_PER_WRITE:
                    self._flush()
                    next_flush = now + FLUSH_SECONDS
                if now >= next_beat:
                    self._heartbeat()
                    next_beat = now + HEARTBEAT_SECONDS
                if now >= next_discovery:
                    self._discover()
                    next_discovery = now + DISCOVERY_SECONDS
                if now >= next_namespaces:
                    self._cover_namespaces()
                    next_namespaces = now + NAMESPACES_SECONDS
        except _LeaseLost:
            self.lost = True
            log.warning("lost the watch lease on %s: another watcher holds it now", self.cluster.server)
        except Exception:
            log.exception("the watcher of %s failed; another watcher (or this one, again) takes over",
                          self.cluster.server)
        finally:
            self.stop()

    def _apply(self, item: tuple[Any, ...]) -> None:
        what, scope = item[0], item[1]
        if what == "rediscover":
            self._discover()
            return
        if scope.stopped.is_set():
            return
        kind_key = scope.kind_key
        if what == "event":
            self.stats.events += 1
            event_type, obj = item[2], item[3]
            if event_type == "DELETED":
                self.graph.delete(obj)
            else:
                self.graph.upsert(obj, kind_key)
            if kind_key == CRD_KEY:
                self._rediscover_soon()
        elif what == "page":
            for obj in item[2]:
                self.graph.upsert(obj, kind_key)
        elif what == "listed":
            self.stats.lists += 1
            uids, relist = item[2], item[3]
            self.graph.keep_only(kind_key, scope.namespace, uids)
            self._cover(scope)
            if relist:
                self.stats.relists += 1
                self._full_compare_due = True
            self._check_initial()
        elif what == "interrupted":
            self._uncover(scope)
        elif what == "resumed":
            self._cover(scope)
        elif what == "forbidden":
            self._forbidden(scope)
            self._check_initial()

    def _cover(self, scope: _Scope) -> None:
        """The index is complete for this kind (in this namespace): polls may rely on it."""
        if scope.namespace is None:
            self._coverage[scope.kind_key] = "*"
        else:
            covered = self._coverage.get(scope.kind_key)
            self._coverage[scope.kind_key] = sorted({*(covered if isinstance(covered, list) else []), scope.namespace})

    def _uncover(self, scope: _Scope) -> None:
        """Its watch broke: until it resumes, polls of apps holding this kind LIST it."""
        if scope.namespace is None:
            self._coverage.pop(scope.kind_key, None)
        elif isinstance(covered := self._coverage.get(scope.kind_key), list):
            self._coverage[scope.kind_key] = [ns for ns in covered if ns != scope.namespace]
        self._heartbeat()  # publish now, not at the next beat

    def _forbidden(self, scope: _Scope) -> None:
        kind_key = scope.kind_key
        if scope.namespace is not None or not scope.rtype.namespaced:
            # Nothing of it can be ours to see there: a namespace-scoped install could not
            # have created it (the LIST path skips it the same way).
            if scope.namespace is None:
                self._coverage[kind_key] = "-"
            else:
                covered = self._coverage.get(kind_key)
                self._coverage[kind_key] = sorted({*(covered if isinstance(covered, list) else []), scope.namespace})
            return
        log.info("cannot watch %s cluster-wide (403): watching it per namespace", scope.rtype.kind)
        self._per_namespace.add(kind_key)
        self._coverage.setdefault(kind_key, [])
        self._cover_namespaces()

    def _cover_namespaces(self) -> None:
        """Per-namespace watches of the kinds that need them, for every namespace apps use."""
        if not self._per_namespace:
            return
        namespaces = {ns for ns in self.namespaces() if ns}
        for kind_key in self._per_namespace:
            rtype = self._types.get(kind_key)
            if rtype is None:
                continue
            for namespace in namespaces:
                if (kind_key, namespace) not in self._scopes:
                    self._start_scope(rtype, namespace)

    def _check_initial(self) -> None:
        if self._initial_done:
            return
        if all(key in self._coverage for key in self._types):
            self._initial_done = True
            self._full_compare_due = True
            log.info("watching %d kinds on %s", len(self._types), self.cluster.server)

    def _discover(self) -> None:
        served = self.cluster.listable_types(max_age=0 if self._types else 60)
        self._cluster_scoped = sorted([t.group, t.kind] for t in served if not t.namespaced)
        types = {
            type_key(t.api_version, t.kind): t
            for t in served
            if "watch" in t.verbs and not excluded(type_key(t.api_version, t.kind), self.exclusions)
        }
        for kind_key, rtype in types.items():
            if kind_key not in self._types:
                self._types[kind_key] = rtype
                self._start_scope(rtype, None)
        for kind_key in list(self._types):
            if kind_key not in types:
                del self._types[kind_key]
                for scope_key in [k for k in self._scopes if k[0] == kind_key]:
                    self._scopes.pop(scope_key).stopped.set()
                self._coverage.pop(kind_key, None)
                self._per_namespace.discard(kind_key)
                self.graph.drop_kind(kind_key)

    def _rediscover_soon(self) -> None:
        def later() -> None:
            if not self.stopped.wait(CRD_SETTLE_SECONDS):
                self.report(("rediscover", _NO_SCOPE))

        threading.Thread(target=later, daemon=True).start()

    def _start_scope(self, rtype: ResourceType, namespace: str | None) -> None:
        scope = _Scope(self, rtype, namespace)
        self._scopes[(scope.kind_key, namespace)] = scope
        scope.start()

    # writes and polls --------------------------------------------------------------------

    def _flush(self) -> None:
        ops, dirty = self.graph.take()
        for start in range(0, len(ops), MAX_OPS_PER_WRITE):
            self._write(ops[start:start + MAX_OPS_PER_WRITE])
        now = time.monotonic()
        if not self._initial_done:
            dirty = set()  # the poll of every app after the first full LIST covers these
        for app in dirty:
            self._pending.setdefault(app, now)
        if self._full_compare_due and self._initial_done:
            self._full_compare_due = False
            self.stats.full_compares += 1
            for app in self.apps_on_cluster() | self.graph.apps():
                self._pending.setdefault(app, now)
        # Writes first, then polls: a poll queued here reads an index that has the change.
        for app, _since in list(self._pending.items()):
            if now - self._last_queued.get(app, -1e9) >= self.debounce:
                del self._pending[app]
                self._last_queued[app] = now
                self.stats.polls_queued += 1
                self.stats.queued_apps = [*self.stats.queued_apps[-49:], app]
                self.enqueue(app)

    def _heartbeat(self) -> None:
        self._write([
            ("hset", Keys.live_meta(self.cid), "heartbeat", f"{time.time():.3f}"),
            ("hset", Keys.live_meta(self.cid), "holder", self.token),
            ("hset", Keys.live_meta(self.cid), "server", self.cluster.server),
            ("hset", Keys.live_meta(self.cid), "coverage", json.dumps(self._coverage, sort_keys=True)),
            ("hset", Keys.live_meta(self.cid), "listed", "1" if self._initial_done else "0"),
            ("hset", Keys.live_meta(self.cid), "objects", str(len(self.graph.nodes))),
            ("hset", Keys.live_meta(self.cid), "clusterScoped", json.dumps(self._cluster_scoped)),
        ])

    def _write(self, ops: list[tuple[str, ...]]) -> None:
        if not ops:
            return
        if not self.store.write_live(self.cid, self.token, ops):
            raise _LeaseLost()
        self.stats.writes += 1


class _LeaseLost(Exception):
    pass


class _NoScope:
    kind_key = ""
    namespace = None
    stopped = threading.Event()


_NO_SCOPE = _NoScope()
