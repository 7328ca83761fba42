"""The watcher's in-memory graph (reconciler/live/graph.py): which app each object belongs to,
the index writes and the apps to poll each change yields."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.live.graph import Graph
from reconciler.live.watcher import excluded
from reconciler.model.resources import TRACKING_ANNOTATION, TRACKING_LABEL
from reconciler.settings import Settings, SettingsError
from reconciler.state import Keys


def obj(kind: str, name: str, uid: str, *, app: str = "", owner: str = "", **body: Any) -> dict[str, Any]:
    api_version = "apps/v1" if kind in ("Deployment", "ReplicaSet") else "v1"
    group = "apps" if api_version == "apps/v1" else ""
    meta: dict[str, Any] = {"name": name, "namespace": "shop", "uid": uid, "resourceVersion": "1"}
    if app:
        meta["labels"] = {TRACKING_LABEL: app}
        meta["annotations"] = {TRACKING_ANNOTATION: f"{app}:{group}/{kind}:shop/{name}"}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "X", "name": "x", "uid": owner}]
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **body}


def test_pod_listed_before_its_owners_joins_the_app_when_they_arrive() -> None:
    graph = Graph("c1")
    graph.upsert(obj("Pod", "web-1-a", "pod", owner="rs"), "/Pod")
    graph.upsert(obj("ReplicaSet", "web-1", "rs", owner="dep"), "apps/ReplicaSet")
    assert graph.take() == ([], set())  # nothing known to belong to an app yet

    graph.upsert(obj("Deployment", "web", "dep", app="shop"), "apps/Deployment")

    ops, dirty = graph.take()
    assert dirty == {"shop"}
    assert {(op[0], op[1], op[2]) for op in ops if op[0] == "hset"} == {
        ("hset", Keys.live_app("c1", "shop"), "apps/Deployment/shop/web"),
        ("hset", Keys.live_tree("c1", "shop"), "rs"),
        ("hset", Keys.live_tree("c1", "shop"), "pod"),
    }


def test_status_only_change_of_a_tracked_object_queues_no_poll_but_a_spec_change_does() -> None:
    graph = Graph("c1")
    graph.upsert(obj("ConfigMap", "settings", "cm", app="shop", data={"a": "1"}), "/ConfigMap")
    graph.take()
    moved = obj("ConfigMap", "settings", "cm", app="shop", data={"a": "1"})
    moved["metadata"]["resourceVersion"] = "2"
    graph.upsert(moved, "/ConfigMap")
    assert graph.take()[1] == set()

    graph.upsert(obj("ConfigMap", "settings", "cm", app="shop", data={"a": "2"}), "/ConfigMap")
    assert graph.take()[1] == {"shop"}


def test_object_whose_annotation_names_another_object_is_not_tracked() -> None:
    graph = Graph("c1")
    copied = obj("ConfigMap", "copy", "cm", app="shop")
    copied["metadata"]["annotations"][TRACKING_ANNOTATION] = "shop:/ConfigMap:shop/original"
    graph.upsert(copied, "/ConfigMap")
    ops, dirty = graph.take()
    # Only the orphaned-resource index hears of it: no app's index does.
    assert [op for op in ops if op[1] not in (Keys.live_namespace("c1", "shop"), Keys.live_namespaces("c1"))] == []
    assert dirty == set()
    assert graph.nodes == {}


def test_relist_removes_what_the_list_lacks_and_polls_its_app() -> None:
    graph = Graph("c1")
    graph.upsert(obj("ConfigMap", "a", "a", app="shop"), "/ConfigMap")
    graph.upsert(obj("ConfigMap", "b", "b", app="shop"), "/ConfigMap")
    graph.take()
    graph.replace("/ConfigMap", None, [obj("ConfigMap", "a", "a", app="shop")])
    ops, dirty = graph.take()
    assert ("hdel", Keys.live_app("c1", "shop"), "/ConfigMap/shop/b") in ops
    assert dirty == {"shop"}


def test_exclusion_patterns_match_group_and_kind() -> None:
    assert excluded("metrics.k8s.io/PodMetrics", ("metrics.k8s.io/*",))
    assert excluded("/ConfigMap", ("*/ConfigMap",))
    assert not excluded("apps/Deployment", ("metrics.k8s.io/*", "/ConfigMap"))


def test_exclusion_without_a_group_separator_is_refused_naming_it() -> None:
    with pytest.raises(SettingsError, match="'Event' must be GROUP/KIND"):
        Settings.from_env({"RECONCILER_RESOURCE_EXCLUSIONS": "metrics.k8s.io/*, Event"})


def test_secret_values_never_reach_the_fingerprint_but_their_changes_do() -> None:
    from reconciler.engine.live_view import live_fingerprint

    secret = obj("Secret", "creds", "s1", app="shop", data={"password": "aHVudGVyMg=="})
    same_version_other_value = obj("Secret", "creds", "s1", app="shop", data={"password": "c2VjcmV0"})
    assert live_fingerprint(secret) == live_fingerprint(same_version_other_value)  # values not hashed
    rewritten = obj("Secret", "creds", "s1", app="shop", data={"password": "c2VjcmV0"})
    rewritten["metadata"]["resourceVersion"] = "2"
    assert live_fingerprint(rewritten) != live_fingerprint(secret)  # a write is still a change


def test_secret_values_never_reach_the_owned_fingerprint_but_their_changes_do() -> None:
    from reconciler.engine.live_view import owned_fingerprint

    ours = [{"manager": "gitops-reconciler", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {"f:password": {}}}}]

    def secret(value: str, version: str) -> dict[str, Any]:
        made = obj("Secret", "creds", "s1", app="shop", data={"password": value})
        made["metadata"].update(managedFields=ours, resourceVersion=version)
        return made

    fingerprint = owned_fingerprint(secret("aHVudGVyMg==", "1"), "gitops-reconciler")
    assert fingerprint and fingerprint == owned_fingerprint(secret("c2VjcmV0", "1"), "gitops-reconciler")
    assert owned_fingerprint(secret("c2VjcmV0", "2"), "gitops-reconciler") != fingerprint


def test_pods_coming_and_going_are_not_news_but_a_pod_turning_unhealthy_is() -> None:
    graph = Graph("c1")
    graph.upsert(obj("ReplicaSet", "web-1", "rs", app="shop"), "apps/ReplicaSet")
    graph.take()
    ready = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    graph.upsert(obj("Pod", "web-1-a", "pod", owner="rs", status=ready), "/Pod")
    graph.delete(obj("Pod", "web-1-old", "old-pod", owner="rs"))
    assert graph.take()[1] == set()

    graph.upsert(obj("Pod", "web-1-a", "pod", owner="rs", status={"phase": "Failed"}), "/Pod")
    assert graph.take()[1] == {"shop"}


def test_untracked_top_level_objects_are_indexed_per_namespace_until_deleted() -> None:
    graph = Graph("c1")
    loose = obj("ConfigMap", "by-hand", "cm1")
    graph.upsert(loose, "/ConfigMap")
    ops, _ = graph.take()
    assert ("hset", Keys.live_namespace("c1", "shop"), "cm1", '["v1","ConfigMap","by-hand",""]') in ops
    graph.upsert(obj("ConfigMap", "mine", "cm2", app="shop"), "/ConfigMap")  # tracked: not a candidate
    ops, _ = graph.take()
    assert not [op for op in ops if op[1] == Keys.live_namespace("c1", "shop")]
    graph.delete(loose)
    assert graph.take()[0] == [("hdel", Keys.live_namespace("c1", "shop"), "cm1")]


def test_a_relist_without_an_untracked_object_drops_it_from_the_namespace_index() -> None:
    graph = Graph("c1")
    graph.replace("/ConfigMap", None, [obj("ConfigMap", "by-hand", "cm1")])
    graph.take()
    graph.replace("/ConfigMap", None, [])
    assert graph.take()[0] == [("hdel", Keys.live_namespace("c1", "shop"), "cm1")]
