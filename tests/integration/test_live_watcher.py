"""One cluster's watcher (reconciler/live/watcher.py) against kubesim and real Redis, with
the polls it queues recorded: what queues a poll and what does not, a burst of Pod events,
namespace-scoped RBAC, and a 410 Gone after a gap longer than the server's event history."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reconciler.engine.cluster import Cluster
from reconciler.engine.health.rules.configured import loaded_customizations
from reconciler.live.records import cluster_id
from reconciler.live.watcher import ClusterWatcher
from reconciler.model.resources import TRACKING_ANNOTATION, TRACKING_LABEL
from reconciler.settings import Settings
from reconciler.state import Keys, Store

APP = "shop"


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def tracked(kind: str, name: str, namespace: str = "shop", api_version: str = "v1", **body: Any) -> dict[str, Any]:
    group = api_version.rpartition("/")[0]
    return {
        "apiVersion": api_version, "kind": kind, **body,
        "metadata": {
            "name": name, "namespace": namespace, "labels": {TRACKING_LABEL: APP},
            "annotations": {TRACKING_ANNOTATION: f"{APP}:{group}/{kind}:{namespace}/{name}"},
        },
    }


class Recorder:
    def __init__(self) -> None:
        self.queued: list[str] = []

    def __call__(self, app: str) -> None:
        self.queued.append(app)


@pytest.fixture
def cluster(kubesim: Any) -> Cluster:
    cluster = Cluster.for_host(kubesim.url)
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    return cluster


def started(cluster: Cluster, store: Store, recorder: Recorder, debounce: float = 0.3) -> ClusterWatcher:
    token = store.acquire_watch_lease(cluster_id(cluster.server), "test", 30)
    assert token
    # the resource customizations the environment names, as `reconciler watch` reads them from its Settings
    watcher = ClusterWatcher(cluster, store, token, recorder, debounce=debounce,
                             apps_on_cluster=lambda: {APP}, namespaces=lambda: {"shop"},
                             customizations=lambda: loaded_customizations(Settings.from_env())).start()
    wait_for(lambda: watcher.stats.full_compares >= 1, what="the first full LIST")
    return watcher


@pytest.fixture
def running(cluster: Cluster, redis_client: Any) -> Iterator[tuple[ClusterWatcher, Recorder, Store]]:
    store, recorder = Store(redis_client), Recorder()
    cluster.apply(tracked("ConfigMap", "settings", data={"mode": "blue"}))
    watcher = started(cluster, store, recorder)
    wait_for(lambda: APP in recorder.queued, what="the poll of every app after the first LIST")
    recorder.queued.clear()
    yield watcher, recorder, store
    watcher.stop()
    watcher.join()


def test_change_to_an_object_no_app_tracks_queues_nothing(
    cluster: Cluster, running: tuple[ClusterWatcher, Recorder, Store]
) -> None:
    watcher, recorder, _ = running
    seen = watcher.stats.events
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stray", "namespace": "shop"},
                   "data": {"a": "1"}})
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stray", "namespace": "shop"},
                   "data": {"a": "2"}})
    wait_for(lambda: watcher.stats.events >= seen + 2, what="the watch events of the untracked ConfigMap")
    time.sleep(0.5)  # more than a flush and the debounce
    assert recorder.queued == []

    cluster.apply(tracked("ConfigMap", "settings", data={"mode": "green"}))
    wait_for(lambda: recorder.queued == [APP], what="the tracked ConfigMap's change queueing its app")


def test_burst_of_500_pod_events_makes_a_few_polls(
    kubesim: Any, cluster: Cluster, redis_client: Any
) -> None:
    store, recorder = Store(redis_client), Recorder()
    replica_set = cluster.apply(tracked("ReplicaSet", "web", api_version="apps/v1", spec={
        "replicas": 1, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}},
    }))
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
             "uid": replica_set["metadata"]["uid"], "controller": True}
    watcher = started(cluster, store, recorder, debounce=1.0)
    try:
        wait_for(lambda: APP in recorder.queued, what="the poll after the first LIST")
        recorder.queued.clear()
        seen = watcher.stats.events
        for i in range(500):
            kubesim.api.put_object({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"web-{i % 50}", "namespace": "shop", "ownerReferences": [owner]},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
                # Each round of 50 flips every Pod between ready and failed: 500 health changes.
                "status": [{"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
                           {"phase": "Failed"}][i // 50 % 2],
            })
        wait_for(lambda: watcher.stats.events >= seen + 500, what="500 Pod events")
        time.sleep(1.5)  # the debounce's trailing poll
        # At most one poll a second while events keep coming (however long a loaded machine
        # takes to deliver them), against 500 without the debounce.
        assert 1 <= recorder.queued.count(APP) <= 5, recorder.queued
        tree = store.live_tree(cluster_id(cluster.server), APP)[2]
        assert len(tree) == 50  # the Pods under the app's ReplicaSet, found by ownerReferences
    finally:
        watcher.stop()
        watcher.join()


def test_namespace_scoped_rbac_watches_per_namespace(kubesim: Any, cluster: Cluster, redis_client: Any) -> None:
    kubesim.api.add_faults([{"path_regex": "^/api/v1/configmaps$", "methods": ["GET"], "status": 403}])
    store, recorder = Store(redis_client), Recorder()
    cluster.apply(tracked("ConfigMap", "settings", data={"mode": "blue"}))
    watcher = started(cluster, store, recorder)
    try:
        assert watcher.coverage["/ConfigMap"] == ["shop"]
        recorder.queued.clear()
        cluster.apply(tracked("ConfigMap", "settings", data={"mode": "green"}))
        wait_for(lambda: APP in recorder.queued, what="the change seen by the per-namespace watch")
        watches = {e["path"] for e in kubesim.api.requests() if e["verb"] == "watch" and "configmaps" in e["path"]}
        assert watches == {"/api/v1/namespaces/shop/configmaps"}
    finally:
        watcher.stop()
        watcher.join()


def test_410_gone_after_a_gap_relists_and_misses_nothing(
    kubesim: Any, cluster: Cluster, running: tuple[ClusterWatcher, Recorder, Store]
) -> None:
    watcher, recorder, store = running
    sim_store = kubesim.api.store
    sim_store.history = collections.deque(sim_store.history, maxlen=3)
    sim_store.close()  # every watch stream ends; watches opened now end at once
    wait_for(lambda: "/ConfigMap" not in watcher.coverage, what="ConfigMaps no longer vouched for")
    cluster.apply(tracked("ConfigMap", "settings", data={"mode": "changed-in-the-gap"}))
    for i in range(5):  # push the change out of the 3-event history
        cluster.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"s{i}", "namespace": "shop"}})
    record_before = store.live_objects(cluster_id(cluster.server), APP)[1]["/ConfigMap/shop/settings"]
    with sim_store.lock:
        sim_store.closed = False

    wait_for(lambda: watcher.stats.gone >= 1 and watcher.stats.relists >= 1, what="410 Gone and a relist")
    wait_for(lambda: store.live_objects(cluster_id(cluster.server), APP)[1]["/ConfigMap/shop/settings"]
             != record_before, what="the change made in the gap in the index")
    wait_for(lambda: APP in recorder.queued, what="the app polled after the gap")
    wait_for(lambda: watcher.coverage.get("/ConfigMap") == "*", what="ConfigMaps vouched for again")
    assert store.watch_lease_holder(cluster_id(cluster.server)) == watcher.token
    assert Keys.live_app(cluster_id(cluster.server), APP)


def test_resource_tree_objects_come_from_the_index_without_asking_the_cluster(
    kubesim: Any, cluster: Cluster, running: tuple[ClusterWatcher, Recorder, Store]
) -> None:
    from reconciler.control.views.live_objects import from_index, under
    from reconciler.live.reader import LiveStateReader

    _, _, store = running
    deployment = cluster.apply(tracked("Deployment", "web", api_version="apps/v1", spec={
        "replicas": 1, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}},
    }))

    def owned(kind: str, api_version: str, name: str, uid: str) -> list[dict[str, Any]]:
        return [{"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": True}]

    replica_set = kubesim.api.put_object({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-1", "namespace": "shop",
                     "ownerReferences": owned("Deployment", "apps/v1", "web", deployment["metadata"]["uid"])},
        "spec": {"replicas": 1}, "status": {"readyReplicas": 1, "replicas": 1},
    })
    kubesim.api.put_object({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1-a", "namespace": "shop",
                     "ownerReferences": owned("ReplicaSet", "apps/v1", "web-1", replica_set["metadata"]["uid"])},
        "spec": {"containers": [{"name": "c", "image": "x"}]}, "status": {"phase": "Running"},
    })
    reader = LiveStateReader(store, cluster.server)

    def below_web() -> list[tuple[str, str, str]]:
        live = from_index(reader, APP)
        if live is None:
            return []
        return sorted((o.kind, o.name, o.health[0]) for o in under(live.objects, {deployment["metadata"]["uid"]})
                      if o.kind != "Deployment")

    wait_for(lambda: len(below_web()) == 2, what="the ReplicaSet and Pod under the Deployment in the index")
    kubesim.api.clear_log()

    assert [(kind, name) for kind, name, _health in below_web()] == [("Pod", "web-1-a"), ("ReplicaSet", "web-1")]
    # No request from building the tree (the watcher's own streams may reconnect meanwhile).
    assert [e for e in kubesim.api.requests() if e["verb"] != "watch"] == []


def test_kind_of_a_crd_created_later_is_watched_once_the_crd_appears(
    cluster: Cluster, running: tuple[ClusterWatcher, Recorder, Store]
) -> None:
    watcher, recorder, _ = running
    assert "example.com/Widget" not in watcher.coverage
    cluster.apply({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
    })
    wait_for(lambda: watcher.coverage.get("example.com/Widget") == "*", what="the new kind listed and watched")

    cluster.apply(tracked("Widget", "blue", api_version="example.com/v1", spec={"size": 1}))
    wait_for(lambda: APP in recorder.queued, what="the app polled for its new custom resource")


def test_a_kind_listed_in_several_pages_is_indexed_whole(kubesim: Any, cluster: Cluster, redis_client: Any) -> None:
    for i in range(1100):  # three pages of 500
        kubesim.api.put_object({"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": f"filler-{i:04d}", "namespace": "shop"}})
    cluster.apply(tracked("ConfigMap", "zz-last", data={"on": "the last page"}))
    store, recorder = Store(redis_client), Recorder()
    watcher = started(cluster, store, recorder)
    try:
        index = store.live_objects(cluster_id(cluster.server), APP)[1]
        assert "/ConfigMap/shop/zz-last" in index
        list_requests = [e for e in kubesim.api.requests() if e["verb"] == "list" and e["path"] == "/api/v1/configmaps"]
        assert len(list_requests) == 3
    finally:
        watcher.stop()
        watcher.join()


IGNORE_RESOURCE_UPDATES = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
data:
  resource.customizations.ignoreResourceUpdates._ConfigMap: |
    jsonPointers:
    - /data/heartbeat
"""


def test_change_only_in_fields_ignore_resource_updates_names_queues_nothing(
    cluster: Cluster, redis_client: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Argo CD's resource.customizations.ignoreResourceUpdates: an update of only those fields
    refreshes no app; any other change still does."""
    config = tmp_path / "argocd-cm.yaml"
    config.write_text(IGNORE_RESOURCE_UPDATES)
    monkeypatch.setenv("RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE", str(config))
    store, recorder = Store(redis_client), Recorder()
    cluster.apply(tracked("ConfigMap", "settings", data={"mode": "blue", "heartbeat": "1"}))
    watcher = started(cluster, store, recorder)
    try:
        wait_for(lambda: APP in recorder.queued, what="the poll of every app after the first LIST")
        recorder.queued.clear()
        seen = watcher.stats.events
        cluster.apply(tracked("ConfigMap", "settings", data={"mode": "blue", "heartbeat": "2"}))
        wait_for(lambda: watcher.stats.events > seen, what="the heartbeat's watch event")
        time.sleep(0.8)  # more than a flush and the debounce
        assert recorder.queued == []

        cluster.apply(tracked("ConfigMap", "settings", data={"mode": "green", "heartbeat": "2"}))
        wait_for(lambda: recorder.queued == [APP], what="a change outside the ignored fields queueing its app")
    finally:
        watcher.stop()
        watcher.join()
