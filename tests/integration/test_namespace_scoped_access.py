"""Clusters where RBAC allows no cluster-wide LIST (the chart's `rbac.scope: namespace`): prune
candidates are then looked for in the app's own namespaces. A real API server answers such a
LIST with 403 Forbidden; kubesim's fault injection plays that part here."""

from __future__ import annotations

from typing import Any

from reconciler.engine.cluster import Cluster
from reconciler.model.resources import TRACKING_ANNOTATION, TRACKING_LABEL


def tracked_configmap(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {TRACKING_LABEL: "shop"},
            "annotations": {TRACKING_ANNOTATION: f"shop:/ConfigMap:{namespace}/{name}"},
        },
    }


def test_forbidden_cluster_wide_list_falls_back_to_the_apps_namespaces(kubesim: Any) -> None:
    cluster = Cluster.for_host(kubesim.url)
    for namespace in ("shop", "elsewhere"):
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    cluster.apply(tracked_configmap("settings", "shop"))
    cluster.apply(tracked_configmap("stray", "elsewhere"))
    kubesim.api.add_faults([{"path_regex": "^/api/v1/configmaps$", "methods": ["GET"], "status": 403}])

    found = cluster.list_tracked("shop", [("v1", "ConfigMap")], namespaces=["shop"])

    assert [o["metadata"]["name"] for o in found] == ["settings"]  # "elsewhere" is not the app's to see


def test_forbidden_cluster_scoped_kind_is_skipped(kubesim: Any) -> None:
    cluster = Cluster.for_host(kubesim.url)
    kubesim.api.add_faults([{"path_regex": "^/apis/rbac.authorization.k8s.io/v1/clusterroles$", "status": 403}])
    assert cluster.list_tracked("shop", [("rbac.authorization.k8s.io/v1", "ClusterRole")], namespaces=["shop"]) == []
