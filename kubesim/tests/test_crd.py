"""CustomResourceDefinitions: serving, status, custom resources, withdrawal.

Behaviour taken from:
- https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
  (name `<plural>.<group>`, served versions, scope, Established/NamesAccepted conditions, the
  status subresource, deleting a CRD deletes its custom objects)
- https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/#notes-on-the-strategic-merge-patch
  (strategic merge patch is not supported for custom resources: 415)
- https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions (custom
  resources need metadata.resourceVersion on update)
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from kubernetes.client.rest import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError


def crd(scope: str = "Namespaced", versions: tuple[str, ...] = ("v1",), status: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": scope,
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                 "versions": [{"name": v, "served": True, "storage": i == 0,
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}},
                               **({"subresources": {"status": {}}} if status else {})}
                              for i, v in enumerate(versions)]},
    }


def crds(client: Any) -> Any:
    return client.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")


def widget(name: str, api_version: str = "example.com/v1", **extra: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": "Widget", "metadata": {"name": name}, "spec": {"size": 1}, **extra}


def test_creating_a_crd_serves_its_group_in_discovery(kubesim: Any, kube_client: Any) -> None:
    crds(kube_client).create(body=crd())
    groups = {g["name"]: g for g in httpx.get(kubesim.url + "/apis").json()["groups"]}
    assert groups["example.com"]["preferredVersion"] == {"groupVersion": "example.com/v1", "version": "v1"}
    resources = httpx.get(kubesim.url + "/apis/example.com/v1").json()["resources"]
    assert {(r["name"], r["kind"]) for r in resources} == {("widgets", "Widget"), ("widgets/status", "Widget")}


def test_crd_status_is_established_with_names_accepted(kube_client: Any) -> None:
    created = crds(kube_client).create(body=crd())
    conditions = {c["type"]: c["status"] for c in created.status.conditions}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert created.status.acceptedNames.kind == "Widget"


def test_custom_resources_can_be_created_and_listed(kube_client: Any) -> None:
    crds(kube_client).create(body=crd())
    widgets = kube_client.resources.get(api_version="example.com/v1", kind="Widget")
    created = widgets.create(namespace="default", body=widget("w1"))
    assert created.metadata.generation == 1
    listed = widgets.get(namespace="default")
    assert listed.kind == "WidgetList"
    assert [i.metadata.name for i in listed.items] == ["w1"]


def test_custom_resource_list_items_keep_kind_and_api_version(kubesim: Any, kube_client: Any) -> None:
    crds(kube_client).create(body=crd())
    kube_client.resources.get(api_version="example.com/v1", kind="Widget").create(namespace="default",
                                                                                 body=widget("w1"))
    item = httpx.get(kubesim.url + "/apis/example.com/v1/namespaces/default/widgets").json()["items"][0]
    assert (item["apiVersion"], item["kind"]) == ("example.com/v1", "Widget")


def test_cluster_scoped_crd_serves_cluster_scoped_objects(kube_client: Any) -> None:
    crds(kube_client).create(body=crd(scope="Cluster"))
    widgets = kube_client.resources.get(api_version="example.com/v1", kind="Widget")
    assert widgets.namespaced is False
    assert widgets.create(body=widget("w1")).metadata.namespace is None


def test_every_served_version_is_available(kube_client: Any) -> None:
    crds(kube_client).create(body=crd(versions=("v1", "v1beta1")))
    kube_client.resources.get(api_version="example.com/v1", kind="Widget").create(namespace="default",
                                                                                 body=widget("w1"))
    old = kube_client.resources.get(api_version="example.com/v1beta1", kind="Widget")
    assert old.get(name="w1", namespace="default").apiVersion == "example.com/v1beta1"


def test_deleting_a_crd_withdraws_its_api_and_objects(kubesim: Any, kube_client: Any) -> None:
    crds(kube_client).create(body=crd())
    kube_client.resources.get(api_version="example.com/v1", kind="Widget").create(namespace="default",
                                                                                 body=widget("w1"))
    crds(kube_client).delete(name="widgets.example.com")
    assert httpx.get(kubesim.url + "/apis/example.com/v1").status_code == 404
    assert "example.com" not in {g["name"] for g in httpx.get(kubesim.url + "/apis").json()["groups"]}
    kube_client.resources.invalidate_cache()
    with pytest.raises(ResourceNotFoundError):
        kube_client.resources.get(api_version="example.com/v1", kind="Widget")


def test_strategic_merge_patch_on_a_custom_resource_is_415(kube_client: Any) -> None:
    crds(kube_client).create(body=crd())
    widgets = kube_client.resources.get(api_version="example.com/v1", kind="Widget")
    widgets.create(namespace="default", body=widget("w1"))
    with pytest.raises(ApiException) as err:
        widgets.patch(name="w1", namespace="default", body={"spec": {"size": 2}})
    assert err.value.status == 415
    assert json.loads(err.value.body)["reason"] == "UnsupportedMediaType"


def test_merge_patch_on_a_custom_resource_bumps_generation(kube_client: Any) -> None:
    crds(kube_client).create(body=crd())
    widgets = kube_client.resources.get(api_version="example.com/v1", kind="Widget")
    widgets.create(namespace="default", body=widget("w1"))
    patched = widgets.patch(name="w1", namespace="default", body={"spec": {"size": 2}},
                            content_type="application/merge-patch+json")
    assert (patched.spec.size, patched.metadata.generation) == (2, 2)


def test_main_resource_writes_ignore_status_with_status_subresource(kube_client: Any) -> None:
    crds(kube_client).create(body=crd(status=True))
    widgets = kube_client.resources.get(api_version="example.com/v1", kind="Widget")
    created = widgets.create(namespace="default", body=widget("w1", status={"ready": True}))
    assert created.status is None


def test_without_status_subresource_status_is_stored(kube_client: Any) -> None:
    crds(kube_client).create(body=crd(status=False))
    widgets = kube_client.resources.get(api_version="example.com/v1", kind="Widget")
    assert widgets.create(namespace="default", body=widget("w1", status={"ready": True})).status.ready is True


def test_put_of_a_custom_resource_needs_a_resource_version(kube_client: Any) -> None:
    crds(kube_client).create(body=crd())
    widgets = kube_client.resources.get(api_version="example.com/v1", kind="Widget")
    widgets.create(namespace="default", body=widget("w1"))
    with pytest.raises(ApiException) as err:
        widgets.replace(namespace="default", body=widget("w1"))
    assert err.value.status == 422


def test_crd_name_must_be_plural_dot_group(kube_client: Any) -> None:
    bad = crd()
    bad["metadata"]["name"] = "gadgets.example.com"
    with pytest.raises(ApiException) as err:
        crds(kube_client).create(body=bad)
    assert err.value.status == 422
    assert 'must be spec.names.plural+"."+spec.group' in json.loads(err.value.body)["message"]


def test_apply_creates_a_custom_resource(kube_client: Any) -> None:
    crds(kube_client).create(body=crd())
    widgets = kube_client.resources.get(api_version="example.com/v1", kind="Widget")
    applied = kube_client.server_side_apply(widgets, body={**widget("w1"), "metadata": {
        "name": "w1", "namespace": "default"}}, field_manager="me")
    assert applied.spec.size == 1
