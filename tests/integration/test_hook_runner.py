"""Hook creation against kubesim: a redelivered step adopts the generateName hook its dead
worker created instead of creating a second one."""

from __future__ import annotations

from typing import Any

from reconciler.control.sync.hooks import create_hook
from reconciler.control.sync.operation import HookRecord
from reconciler.engine.cluster import Cluster
from reconciler.model.operation import HookPhase, HookType


def record() -> HookRecord:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "migrate-", "namespace": "shop",
                     "labels": {"app.kubernetes.io/instance": "shop"},
                     "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
                                       "containers": [{"name": "m", "image": "busybox", "command": ["true"]}]}}},
    }
    return HookRecord(id=0, phase=HookType.PRE_SYNC, api_version="batch/v1", kind="Job", namespace="shop",
                      generate_name="migrate-", delete_policies=("BeforeHookCreation",), obj=job)


def test_redelivered_hook_creation_adopts_the_object_of_the_same_operation(kubesim: Any) -> None:
    cluster = Cluster.for_host(kubesim.url)
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    first, waiting = create_hook(cluster, "shop", record(), "op-1")
    assert waiting == "" and first.status == HookPhase.RUNNING
    # The worker died before the operation saved `first`: the same hook of the same operation again.
    again, waiting = create_hook(cluster, "shop", record(), "op-1")
    assert waiting == ""
    assert again.name == first.name and again.status == HookPhase.RUNNING
    assert [j["metadata"]["name"] for j in cluster.list("batch/v1", "Job", namespace="shop")] == [first.name]
    # The next operation's hook replaces it (BeforeHookCreation).
    later, waiting = create_hook(cluster, "shop", record(), "op-2")
    assert waiting == "" and later.name != first.name
    names = [j["metadata"]["name"] for j in cluster.list("batch/v1", "Job", namespace="shop")]
    assert len(names) == 1 and names != [first.name]
