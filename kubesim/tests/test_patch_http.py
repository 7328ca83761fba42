"""PATCH end to end with the official DynamicClient: merge, JSON and strategic merge patch bodies
(https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/)."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.dynamic.exceptions import UnprocessibleEntityError


@pytest.fixture
def deployments(kube_client: Any) -> Any:
    resource = kube_client.resources.get(api_version="apps/v1", kind="Deployment")
    resource.create(namespace="default", body={
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                     {"name": "web", "image": "nginx:1"}, {"name": "sidecar", "image": "busybox:1"}]}}},
    })
    return resource


@pytest.fixture
def config_maps(kube_client: Any) -> Any:
    resource = kube_client.resources.get(api_version="v1", kind="ConfigMap")
    resource.create(namespace="default", body={
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "default"},
        "data": {"a": "1", "b": "2"}})
    return resource


def test_strategic_merge_patch_updates_one_container_by_name(deployments: Any) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}}
    result = deployments.patch(name="web", namespace="default", body=patch).to_dict()
    images = [(c["name"], c["image"]) for c in result["spec"]["template"]["spec"]["containers"]]
    assert images == [("web", "nginx:2"), ("sidecar", "busybox:1")]


def test_merge_patch_replaces_the_container_list(deployments: Any) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}}
    result = deployments.patch(name="web", namespace="default", body=patch,
                               content_type="application/merge-patch+json").to_dict()
    assert [c["name"] for c in result["spec"]["template"]["spec"]["containers"]] == ["web"]


def test_json_patch_replaces_a_value(config_maps: Any) -> None:
    result = config_maps.patch(name="settings", namespace="default",
                               body=[{"op": "replace", "path": "/data/a", "value": "9"}],
                               content_type="application/json-patch+json").to_dict()
    assert result["data"] == {"a": "9", "b": "2"}


def test_json_patch_with_failing_test_is_422_and_changes_nothing(config_maps: Any) -> None:
    with pytest.raises(UnprocessibleEntityError):
        config_maps.patch(name="settings", namespace="default",
                          body=[{"op": "test", "path": "/data/a", "value": "nope"},
                                {"op": "remove", "path": "/data/a"}],
                          content_type="application/json-patch+json")
    assert config_maps.get(name="settings", namespace="default").to_dict()["data"] == {"a": "1", "b": "2"}


def test_patch_records_an_update_entry_for_its_field_manager(config_maps: Any) -> None:
    result = config_maps.patch(name="settings", namespace="default", body={"data": {"b": "3"}},
                               field_manager="editor").to_dict()
    editor = next(e for e in result["metadata"]["managedFields"] if e["manager"] == "editor")
    assert editor["operation"] == "Update"
    assert editor["fieldsV1"] == {"f:data": {"f:b": {}}}


def test_patch_that_breaks_validation_is_422(deployments: Any) -> None:
    with pytest.raises(UnprocessibleEntityError):
        deployments.patch(name="web", namespace="default",
                          body={"spec": {"selector": {"matchLabels": {"app": "other"}}}},
                          content_type="application/merge-patch+json")
