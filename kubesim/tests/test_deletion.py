"""Deletion: finalizers, propagation policies, namespaces.

Behaviour taken from:
- https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/ (deletionTimestamp
  set and the object kept while finalizers remain; removed when the last one goes)
- https://kubernetes.io/docs/concepts/architecture/garbage-collection/ (ownerReferences;
  Foreground adds the foregroundDeletion finalizer and removes dependents first; Background
  deletes the owner at once and dependents after; Orphan leaves dependents behind)
- https://kubernetes.io/docs/tasks/administer-cluster/use-cascading-deletion/
- https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/ and
  https://kubernetes.io/docs/tasks/administer-cluster/namespaces/#deleting-a-namespace (phase
  Terminating, contents removed, then the namespace)
- https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run
- apimachinery ValidateNoNewFinalizers ("no new finalizers can be added if the object is being deleted")
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.rest import ApiException


def res(client: Any, api_version: str, kind: str) -> Any:
    return client.resources.get(api_version=api_version, kind=kind)


def configmaps(client: Any) -> Any:
    return res(client, "v1", "ConfigMap")


def make_cm(client: Any, name: str, namespace: str = "default", **meta: Any) -> Any:
    return configmaps(client).create(namespace=namespace, body={"metadata": {"name": name, **meta}})


def owner_ref(owner: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name, "uid": owner.metadata.uid}


def exists(client: Any, name: str, namespace: str = "default") -> bool:
    try:
        configmaps(client).get(name=name, namespace=namespace)
    except ApiException as err:
        if err.status == 404:
            return False
        raise
    return True


def test_delete_without_finalizers_removes_and_returns_success_status(kube_client: Any) -> None:
    created = make_cm(kube_client, "a")
    result = configmaps(kube_client).delete(name="a", namespace="default")
    assert (result.kind, result.status) == ("Status", "Success")
    assert result.details.uid == created.metadata.uid
    assert not exists(kube_client, "a")


def test_delete_of_a_pod_returns_the_pod(kube_client: Any) -> None:
    pods = res(kube_client, "v1", "Pod")
    pods.create(namespace="default", body={"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "busybox:1.36"}]}})
    assert pods.delete(name="p", namespace="default").kind == "Pod"


def test_delete_of_a_missing_object_is_not_found(kube_client: Any) -> None:
    with pytest.raises(ApiException) as err:
        configmaps(kube_client).delete(name="ghost", namespace="default")
    assert err.value.status == 404


def test_delete_with_a_finalizer_marks_and_keeps_the_object(kube_client: Any) -> None:
    make_cm(kube_client, "a", finalizers=["example.com/hold"])
    result = configmaps(kube_client).delete(name="a", namespace="default")
    assert result.kind == "ConfigMap"
    assert result.metadata.deletionTimestamp
    assert result.metadata.deletionGracePeriodSeconds == 0
    assert exists(kube_client, "a")


def test_clearing_the_last_finalizer_removes_the_object(kube_client: Any) -> None:
    make_cm(kube_client, "a", finalizers=["example.com/hold"])
    configmaps(kube_client).delete(name="a", namespace="default")
    configmaps(kube_client).patch(name="a", namespace="default", body={"metadata": {"finalizers": None}},
                                  content_type="application/merge-patch+json")
    assert not exists(kube_client, "a")


def test_adding_a_finalizer_during_deletion_is_invalid(kube_client: Any) -> None:
    make_cm(kube_client, "a", finalizers=["example.com/hold"])
    configmaps(kube_client).delete(name="a", namespace="default")
    with pytest.raises(ApiException) as err:
        configmaps(kube_client).patch(name="a", namespace="default", content_type="application/merge-patch+json",
                                      body={"metadata": {"finalizers": ["example.com/hold", "example.com/new"]}})
    assert err.value.status == 422
    assert "no new finalizers can be added if the object is being deleted" in json.loads(err.value.body)["message"]


def test_background_deletion_removes_dependents(kube_client: Any) -> None:
    owner = make_cm(kube_client, "owner")
    make_cm(kube_client, "child", ownerReferences=[owner_ref(owner)])
    configmaps(kube_client).delete(name="owner", namespace="default")
    assert not exists(kube_client, "child")


def test_dependent_with_another_live_owner_survives(kube_client: Any) -> None:
    owner, other = make_cm(kube_client, "owner"), make_cm(kube_client, "other")
    make_cm(kube_client, "child", ownerReferences=[owner_ref(owner), owner_ref(other)])
    configmaps(kube_client).delete(name="owner", namespace="default")
    child = configmaps(kube_client).get(name="child", namespace="default")
    assert [ref.name for ref in child.metadata.ownerReferences] == ["other"]


def test_foreground_deletion_answers_with_the_foreground_finalizer_then_removes_all(kube_client: Any) -> None:
    owner = make_cm(kube_client, "owner")
    make_cm(kube_client, "child", ownerReferences=[owner_ref(owner)])
    result = configmaps(kube_client).delete(name="owner", namespace="default", propagation_policy="Foreground")
    assert "foregroundDeletion" in result.metadata.finalizers
    assert not exists(kube_client, "child")
    assert not exists(kube_client, "owner")


def test_foreground_owner_waits_for_a_dependent_held_by_a_finalizer(kube_client: Any) -> None:
    owner = make_cm(kube_client, "owner")
    make_cm(kube_client, "child", ownerReferences=[owner_ref(owner)], finalizers=["example.com/hold"])
    configmaps(kube_client).delete(name="owner", namespace="default", body={"propagationPolicy": "Foreground"})
    assert exists(kube_client, "owner")
    configmaps(kube_client).patch(name="child", namespace="default", body={"metadata": {"finalizers": None}},
                                  content_type="application/merge-patch+json")
    assert not exists(kube_client, "owner")


def test_orphan_deletion_keeps_dependents_without_the_owner_reference(kube_client: Any) -> None:
    owner = make_cm(kube_client, "owner")
    make_cm(kube_client, "child", ownerReferences=[owner_ref(owner)])
    configmaps(kube_client).delete(name="owner", namespace="default", propagation_policy="Orphan")
    assert configmaps(kube_client).get(name="child", namespace="default").metadata.ownerReferences is None
    assert not exists(kube_client, "owner")


def test_unknown_propagation_policy_is_invalid(kube_client: Any) -> None:
    make_cm(kube_client, "a")
    with pytest.raises(ApiException) as err:
        configmaps(kube_client).delete(name="a", namespace="default", propagation_policy="Sideways")
    assert err.value.status == 422


def test_dry_run_delete_keeps_the_object(kube_client: Any) -> None:
    make_cm(kube_client, "a")
    configmaps(kube_client).delete(name="a", namespace="default", dry_run="All")
    assert exists(kube_client, "a")


def test_delete_with_stale_uid_precondition_is_a_conflict(kube_client: Any) -> None:
    make_cm(kube_client, "a")
    with pytest.raises(ApiException) as err:
        configmaps(kube_client).delete(name="a", namespace="default", body={"preconditions": {"uid": "nope"}})
    assert err.value.status == 409


def test_delete_collection_removes_only_matching_objects(kube_client: Any) -> None:
    make_cm(kube_client, "a", labels={"app": "x"})
    make_cm(kube_client, "b", labels={"app": "y"})
    configmaps(kube_client).delete(namespace="default", label_selector="app=x")
    assert (exists(kube_client, "a"), exists(kube_client, "b")) == (False, True)


def test_namespace_delete_removes_its_contents_then_itself(kube_client: Any) -> None:
    namespaces = res(kube_client, "v1", "Namespace")
    namespaces.create(body={"metadata": {"name": "team"}})
    make_cm(kube_client, "a", namespace="team")
    result = namespaces.delete(name="team")
    assert (result.kind, result.status.phase) == ("Namespace", "Terminating")
    assert not exists(kube_client, "a", namespace="team")
    with pytest.raises(ApiException) as err:
        namespaces.get(name="team")
    assert err.value.status == 404


def test_namespace_stays_terminating_while_content_holds_a_finalizer(kube_client: Any) -> None:
    namespaces = res(kube_client, "v1", "Namespace")
    namespaces.create(body={"metadata": {"name": "team"}})
    make_cm(kube_client, "held", namespace="team", finalizers=["example.com/hold"])
    namespaces.delete(name="team")
    assert namespaces.get(name="team").status.phase == "Terminating"
    with pytest.raises(ApiException) as err:
        make_cm(kube_client, "new", namespace="team")
    assert err.value.status == 403
    configmaps(kube_client).patch(name="held", namespace="team", body={"metadata": {"finalizers": None}},
                                  content_type="application/merge-patch+json")
    assert "team" not in {n.metadata.name for n in namespaces.get().items}


def test_default_namespace_cannot_be_deleted(kube_client: Any) -> None:
    with pytest.raises(ApiException) as err:
        res(kube_client, "v1", "Namespace").delete(name="default")
    assert err.value.status == 403
