"""Hook creation against kubesim: a redelivered step adopts the generateName hook its dead
worker created instead of creating a second one."""

from __future__ import annotations

import copy
from typing import Any

from reconciler.control.hook_runner import create_hook
from reconciler.engine.cluster import Cluster


def record() -> dict[str, Any]:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "migrate-", "namespace": "shop",
                     "labels": {"app.kubernetes.io/instance": "shop"},
                     "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
                                       "containers": [{"name": "m", "image": "busybox", "command": ["true"]}]}}},
    }
    return {"id": 0, "phase": "PreSync", "apiVersion": "batch/v1", "kind": "Job", "namespace": "shop", "name": "",
            "generateName": "migrate-", "deletePolicies": ["BeforeHookCreation"], "status": "Pending", "obj": job}


def test_redelivered_hook_creation_adopts_the_object_of_the_same_operation(kubesim: Any) -> None:
    cluster = Cluster.for_host(kubesim.url)
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    first = record()
    assert create_hook(cluster, "shop", first, "op-1") == ""
    again = record()  # the worker died before the operation saved `first`
    assert create_hook(cluster, "shop", again, "op-1") == ""
    assert again["name"] == first["name"] and again["status"] == "Running"
    assert [j["metadata"]["name"] for j in cluster.list("batch/v1", "Job", namespace="shop")] == [first["name"]]
    # The next operation's hook replaces it (BeforeHookCreation).
    later = record()
    assert create_hook(cluster, "shop", copy.deepcopy(later), "op-2") == ""
    names = [j["metadata"]["name"] for j in cluster.list("batch/v1", "Job", namespace="shop")]
    assert len(names) == 1 and names != [first["name"]]
