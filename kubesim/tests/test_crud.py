"""kubesim create/read/update/patch/apply through the official DynamicClient.

Behaviour taken from:
- https://kubernetes.io/docs/reference/using-api/api-concepts/ (verbs, 201 on create, lists with
  `kind: XList` and metadata.resourceVersion, limit/continue, dryRun, resourceVersion semantics)
- https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions (opaque,
  changes on every write)
- https://kubernetes.io/docs/reference/using-api/server-side-apply/ (apply creates, fieldManager
  required, no-op apply writes nothing)
- https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/
  (merge / JSON / strategic patches)
- https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/ (initial namespaces)
- https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/object-meta/ (uid,
  creationTimestamp, generation, generateName)
- https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#status-subresource
  (status subresource: main-resource writes ignore status)
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from kubernetes.client.rest import ApiException


def configmaps(client: Any) -> Any:
    return client.resources.get(api_version="v1", kind="ConfigMap")


def deployments(client: Any) -> Any:
    return client.resources.get(api_version="apps/v1", kind="Deployment")


def configmap(name: str, data: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}, "data": data or {"k": "v"}}


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}


def test_default_namespaces_exist(kube_client: Any) -> None:
    namespaces = kube_client.resources.get(api_version="v1", kind="Namespace").get()
    names = {item.metadata.name for item in namespaces.items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_create_returns_201_with_system_metadata(kubesim: Any) -> None:
    response = httpx.post(kubesim.url + "/api/v1/namespaces/default/configmaps", json=configmap("a"))
    assert response.status_code == 201
    meta = response.json()["metadata"]
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert meta["resourceVersion"].isdigit()


def test_create_in_missing_namespace_is_not_found(kube_client: Any) -> None:
    with pytest.raises(ApiException) as err:
        configmaps(kube_client).create(body=configmap("a"), namespace="nowhere")
    assert err.value.status == 404
    assert json.loads(err.value.body)["message"] == 'namespaces "nowhere" not found'


def test_create_with_an_existing_name_is_already_exists(kube_client: Any) -> None:
    configmaps(kube_client).create(body=configmap("a"), namespace="default")
    with pytest.raises(ApiException) as err:
        configmaps(kube_client).create(body=configmap("a"), namespace="default")
    assert err.value.status == 409
    assert json.loads(err.value.body)["reason"] == "AlreadyExists"


def test_create_with_generate_name_picks_a_name(kube_client: Any) -> None:
    created = configmaps(kube_client).create(body={"metadata": {"generateName": "job-"}, "data": {}},
                                             namespace="default")
    assert re.fullmatch(r"job-[a-z0-9]{5}", created.metadata.name)


def test_create_with_invalid_name_is_invalid(kube_client: Any) -> None:
    with pytest.raises(ApiException) as err:
        configmaps(kube_client).create(body=configmap("Not_Valid"), namespace="default")
    assert err.value.status == 422
    assert json.loads(err.value.body)["message"].startswith('ConfigMap "Not_Valid" is invalid: metadata.name')


def test_get_missing_object_is_not_found_naming_it(kube_client: Any) -> None:
    with pytest.raises(ApiException) as err:
        deployments(kube_client).get(name="ghost", namespace="default")
    body = json.loads(err.value.body)
    assert (err.value.status, body["message"]) == (404, 'deployments.apps "ghost" not found')
    assert body["details"] == {"name": "ghost", "group": "apps", "kind": "deployments"}


def test_cluster_scoped_objects_are_created_without_namespace(kube_client: Any) -> None:
    roles = kube_client.resources.get(api_version="rbac.authorization.k8s.io/v1", kind="ClusterRole")
    roles.create(body={"metadata": {"name": "reader"}, "rules": []})
    assert roles.get(name="reader").metadata.namespace is None


def test_list_without_namespace_spans_all_namespaces(kube_client: Any) -> None:
    kube_client.resources.get(api_version="v1", kind="Namespace").create(body={"metadata": {"name": "team"}})
    configmaps(kube_client).create(body=configmap("a"), namespace="default")
    configmaps(kube_client).create(body=configmap("b"), namespace="team")
    listed = configmaps(kube_client).get()
    assert {(i.metadata.namespace, i.metadata.name) for i in listed.items} == {("default", "a"), ("team", "b")}


def test_list_is_a_typed_list_whose_items_omit_kind(kubesim: Any, kube_client: Any) -> None:
    configmaps(kube_client).create(body=configmap("a"), namespace="default")
    body = httpx.get(kubesim.url + "/api/v1/namespaces/default/configmaps").json()
    assert (body["kind"], body["apiVersion"]) == ("ConfigMapList", "v1")
    assert body["metadata"]["resourceVersion"].isdigit()
    assert "kind" not in body["items"][0] and body["items"][0]["metadata"]["name"] == "a"


def test_limit_and_continue_page_through_a_list(kube_client: Any) -> None:
    for name in ("a", "b", "c"):
        configmaps(kube_client).create(body=configmap(name), namespace="default")
    first = configmaps(kube_client).get(namespace="default", limit=2)
    second = configmaps(kube_client).get(namespace="default", limit=2, _continue=first.metadata["continue"])
    assert [i.metadata.name for i in first.items] == ["a", "b"]
    assert [i.metadata.name for i in second.items] == ["c"]
    assert not second.metadata.get("continue")


def test_every_write_moves_the_global_resource_version(kube_client: Any) -> None:
    a = configmaps(kube_client).create(body=configmap("a"), namespace="default")
    b = configmaps(kube_client).create(body=configmap("b"), namespace="default")
    assert int(b.metadata.resourceVersion) > int(a.metadata.resourceVersion)


def test_update_with_stale_resource_version_is_a_conflict(kube_client: Any) -> None:
    created = configmaps(kube_client).create(body=configmap("a"), namespace="default")
    stale = created.to_dict()
    configmaps(kube_client).replace(body={**stale, "data": {"k": "first"}}, namespace="default")
    with pytest.raises(ApiException) as err:
        configmaps(kube_client).replace(body={**stale, "data": {"k": "second"}}, namespace="default")
    assert err.value.status == 409
    assert json.loads(err.value.body)["message"] == (
        'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your '
        "changes to the latest version and try again")


def test_update_that_changes_nothing_keeps_the_resource_version(kube_client: Any) -> None:
    created = configmaps(kube_client).create(body=configmap("a"), namespace="default")
    again = configmaps(kube_client).replace(body=created.to_dict(), namespace="default")
    assert again.metadata.resourceVersion == created.metadata.resourceVersion


def test_generation_starts_at_one_and_moves_only_on_spec_changes(kube_client: Any) -> None:
    created = deployments(kube_client).create(body=deployment("web"), namespace="default")
    assert created.metadata.generation == 1
    relabelled = deployments(kube_client).patch(name="web", namespace="default", body={
        "metadata": {"labels": {"team": "a"}}}, content_type="application/merge-patch+json")
    assert relabelled.metadata.generation == 1
    scaled = deployments(kube_client).patch(name="web", namespace="default", body={"spec": {"replicas": 3}},
                                            content_type="application/merge-patch+json")
    assert scaled.metadata.generation == 2


def test_main_resource_writes_ignore_status_of_deployments(kube_client: Any) -> None:
    deployments(kube_client).create(body=deployment("web"), namespace="default")
    patched = deployments(kube_client).patch(name="web", namespace="default", body={
        "status": {"replicas": 5}}, content_type="application/merge-patch+json")
    assert patched.status is None or patched.status.get("replicas") is None


def test_status_subresource_changes_only_status(kubesim: Any, kube_client: Any) -> None:
    deployments(kube_client).create(body=deployment("web"), namespace="default")
    response = httpx.patch(kubesim.url + "/apis/apps/v1/namespaces/default/deployments/web/status",
                           headers={"Content-Type": "application/merge-patch+json"},
                           content=json.dumps({"spec": {"replicas": 9}, "status": {"replicas": 1}}))
    assert response.status_code == 200
    stored = deployments(kube_client).get(name="web", namespace="default")
    assert (stored.spec.replicas, stored.status.replicas) == (1, 1)


def test_merge_patch_with_null_removes_a_key(kube_client: Any) -> None:
    configmaps(kube_client).create(body=configmap("a", {"x": "1", "y": "2"}), namespace="default")
    patched = configmaps(kube_client).patch(name="a", namespace="default", body={"data": {"x": None}},
                                            content_type="application/merge-patch+json")
    assert patched.data.to_dict() == {"y": "2"}


def test_json_patch_with_failing_test_op_is_invalid(kube_client: Any) -> None:
    configmaps(kube_client).create(body=configmap("a"), namespace="default")
    with pytest.raises(ApiException) as err:
        configmaps(kube_client).patch(name="a", namespace="default", body=[
            {"op": "test", "path": "/data/k", "value": "other"}], content_type="application/json-patch+json")
    assert err.value.status == 422


def test_strategic_merge_patch_is_the_client_default_for_built_ins(kube_client: Any) -> None:
    configmaps(kube_client).create(body=configmap("a"), namespace="default")
    patched = configmaps(kube_client).patch(name="a", namespace="default", body={"data": {"n": "1"}})
    assert patched.data.to_dict() == {"k": "v", "n": "1"}


def test_patch_with_unknown_content_type_is_unsupported_media_type(kubesim: Any, kube_client: Any) -> None:
    configmaps(kube_client).create(body=configmap("a"), namespace="default")
    response = httpx.patch(kubesim.url + "/api/v1/namespaces/default/configmaps/a",
                           headers={"Content-Type": "text/plain"}, content=b"{}")
    assert response.status_code == 415


def test_apply_of_a_missing_object_creates_it_with_201(kubesim: Any) -> None:
    response = httpx.patch(kubesim.url + "/api/v1/namespaces/default/configmaps/a?fieldManager=me",
                           headers={"Content-Type": "application/apply-patch+yaml"},
                           content=b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n")
    assert response.status_code == 201
    assert response.json()["metadata"]["managedFields"][0]["manager"] == "me"


def test_apply_without_field_manager_is_invalid(kubesim: Any) -> None:
    response = httpx.patch(kubesim.url + "/api/v1/namespaces/default/configmaps/a",
                           headers={"Content-Type": "application/apply-patch+yaml"},
                           content=json.dumps(configmap("a")))
    assert response.status_code == 422
    assert response.json()["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch')


def test_repeated_identical_apply_writes_nothing(kube_client: Any) -> None:
    cms = configmaps(kube_client)
    first = kube_client.server_side_apply(cms, body=configmap("a", namespace="default"), field_manager="me")
    second = kube_client.server_side_apply(cms, body=configmap("a", namespace="default"), field_manager="me")
    assert second.metadata.resourceVersion == first.metadata.resourceVersion


def test_dry_run_create_stores_nothing(kube_client: Any) -> None:
    result = configmaps(kube_client).create(body=configmap("a"), namespace="default", dry_run="All")
    assert result.metadata.name == "a"
    assert configmaps(kube_client).get(namespace="default").items == []


def test_dry_run_apply_changes_nothing(kube_client: Any) -> None:
    cms = configmaps(kube_client)
    live = cms.create(body=configmap("a"), namespace="default")
    preview = kube_client.server_side_apply(cms, body=configmap("a", {"k": "new"}, namespace="default"),
                                            field_manager="me", force_conflicts=True, dry_run="All")
    assert preview.data.k == "new"
    assert cms.get(name="a", namespace="default").metadata.resourceVersion == live.metadata.resourceVersion


def test_unknown_dry_run_value_is_rejected_as_invalid_options(kubesim: Any) -> None:
    response = httpx.post(kubesim.url + "/api/v1/namespaces/default/configmaps?dryRun=Some", json=configmap("a"))
    assert response.status_code == 422
    assert 'dryRun: Unsupported value: []string{"Some"}: supported values: "All"' in response.json()["message"]


def test_put_object_stores_directly_and_is_visible_to_clients(kubesim: Any, kube_client: Any) -> None:
    stored = kubesim.api.put_object(configmap("direct", namespace="default"))
    fetched = configmaps(kube_client).get(name="direct", namespace="default")
    assert fetched.metadata.resourceVersion == stored["metadata"]["resourceVersion"]
    assert kubesim.api.get_object("v1", "ConfigMap", "default", "direct")["data"] == {"k": "v"}
    assert [o["metadata"]["name"] for o in kubesim.api.list_objects("v1", "ConfigMap")] == ["direct"]


def test_hpa_is_readable_through_both_served_versions(kube_client: Any) -> None:
    v2 = kube_client.resources.get(api_version="autoscaling/v2", kind="HorizontalPodAutoscaler")
    v1 = kube_client.resources.get(api_version="autoscaling/v1", kind="HorizontalPodAutoscaler")
    v2.create(namespace="default", body={"metadata": {"name": "web"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 3}})
    assert v1.get(name="web", namespace="default").apiVersion == "autoscaling/v1"
