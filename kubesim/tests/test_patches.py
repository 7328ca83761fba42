"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch
(https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubesim.errors import ApiError, BadRequest, UnsupportedMediaType
from kubesim.verbs.patches import json_patch, merge_patch, strategic_merge_patch


def config_map() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}},
            "data": {"k": "v", "x/y": "1"}}


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "finalizers": ["a"]},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
            "template": {"spec": {
                "containers": [
                    {"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                     "env": [{"name": "A", "value": "1"}], "args": ["--a", "--b"]},
                    {"name": "sidecar", "image": "busybox:1"},
                ],
                "volumes": [{"name": "data", "emptyDir": {}}],
            }},
        },
    }


def smp(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    return strategic_merge_patch(target, patch, "Deployment", "apps")


# --- merge patch ------------------------------------------------------------------------------

def test_merge_patch_null_deletes_a_key() -> None:
    assert "k" not in merge_patch(config_map(), {"data": {"k": None}})["data"]


def test_merge_patch_merges_nested_objects() -> None:
    result = merge_patch(config_map(), {"metadata": {"labels": {"b": "2"}}})
    assert result["metadata"]["labels"] == {"a": "1", "b": "2"}


def test_merge_patch_replaces_lists() -> None:
    result = merge_patch(deployment(), {"metadata": {"finalizers": ["b"]}})
    assert result["metadata"]["finalizers"] == ["b"]


def test_merge_patch_does_not_mutate_or_share_with_its_inputs() -> None:
    target = config_map()
    before = copy.deepcopy(target)
    result = merge_patch(target, {"data": {"new": "1"}})
    result["metadata"]["labels"]["z"] = "9"
    assert target == before


# --- JSON patch -------------------------------------------------------------------------------

def test_json_patch_add_replace_remove() -> None:
    result = json_patch(config_map(), [
        {"op": "add", "path": "/data/n", "value": "2"},
        {"op": "replace", "path": "/data/k", "value": "w"},
        {"op": "remove", "path": "/metadata/labels/a"},
    ])
    assert result["data"] == {"k": "w", "x/y": "1", "n": "2"}
    assert result["metadata"]["labels"] == {}


def test_json_patch_unescapes_tilde_one_as_slash() -> None:
    assert json_patch(config_map(), [{"op": "remove", "path": "/data/x~1y"}])["data"] == {"k": "v"}


def test_json_patch_dash_appends_to_a_list() -> None:
    result = json_patch(deployment(), [{"op": "add", "path": "/metadata/finalizers/-", "value": "b"}])
    assert result["metadata"]["finalizers"] == ["a", "b"]


def test_json_patch_move_and_copy() -> None:
    result = json_patch(config_map(), [
        {"op": "copy", "from": "/data/k", "path": "/data/k2"},
        {"op": "move", "from": "/data/k", "path": "/data/k3"},
    ])
    assert result["data"] == {"x/y": "1", "k2": "v", "k3": "v"}


def test_json_patch_failing_test_is_422_invalid() -> None:
    with pytest.raises(ApiError) as caught:
        json_patch(config_map(), [{"op": "test", "path": "/data/k", "value": "other"}])
    assert (caught.value.code, caught.value.reason) == (422, "Invalid")
    assert "/data/k" in caught.value.message


def test_json_patch_passing_test_changes_nothing() -> None:
    assert json_patch(config_map(), [{"op": "test", "path": "/data/k", "value": "v"}]) == config_map()


def test_json_patch_on_a_missing_path_is_422() -> None:
    with pytest.raises(ApiError) as caught:
        json_patch(config_map(), [{"op": "replace", "path": "/spec/nothing", "value": 1}])
    assert caught.value.code == 422


def test_json_patch_body_that_is_not_a_list_of_operations_is_400() -> None:
    with pytest.raises(BadRequest):
        json_patch(config_map(), [["add"]])


def test_json_patch_is_all_or_nothing() -> None:
    target = config_map()
    with pytest.raises(ApiError):
        json_patch(target, [{"op": "add", "path": "/data/n", "value": "2"}, {"op": "bogus", "path": "/"}])
    assert "n" not in target["data"]


# --- strategic merge patch --------------------------------------------------------------------

def test_smp_merges_containers_by_name() -> None:
    result = smp(deployment(), {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}})
    containers = result["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("web", "nginx:2"), ("sidecar", "busybox:1")]
    assert containers[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]


def test_smp_appends_a_container_with_a_new_name() -> None:
    result = smp(deployment(), {"spec": {"template": {"spec": {"containers": [{"name": "new", "image": "x"}]}}}})
    assert [c["name"] for c in result["spec"]["template"]["spec"]["containers"]] == ["web", "sidecar", "new"]


def test_smp_merges_container_ports_by_container_port_only() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "ports": [{"containerPort": 80, "name": "http"}]}]}}}}
    ports = smp(deployment(), patch)["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert ports == [{"containerPort": 80, "protocol": "TCP", "name": "http"}]


def test_smp_patch_delete_directive_removes_a_list_item() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
    assert [c["name"] for c in smp(deployment(), patch)["spec"]["template"]["spec"]["containers"]] == ["web"]


def test_smp_patch_replace_directive_replaces_a_map() -> None:
    result = smp(deployment(), {"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}})
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_smp_retain_keys_drops_keys_not_listed() -> None:
    result = smp(deployment(), {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_smp_null_deletes_a_field() -> None:
    assert "replicas" not in smp(deployment(), {"spec": {"replicas": None}})["spec"]


def test_smp_lists_without_merge_key_are_replaced() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "args": ["--c"]}]}}}}
    assert smp(deployment(), patch)["spec"]["template"]["spec"]["containers"][0]["args"] == ["--c"]


def test_smp_finalizers_merge_as_a_set() -> None:
    assert smp(deployment(), {"metadata": {"finalizers": ["b", "a"]}})["metadata"]["finalizers"] == ["a", "b"]


def test_smp_delete_from_primitive_list() -> None:
    result = smp(deployment(), {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert result["metadata"]["finalizers"] == []


def test_smp_set_element_order_is_accepted_and_dropped() -> None:
    patch = {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "web"}],
                                            "containers": [{"name": "web", "image": "nginx:3"}]}}}}
    result = smp(deployment(), patch)
    assert "$setElementOrder/containers" not in result["spec"]["template"]["spec"]
    assert result["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:3"


def test_smp_service_ports_merge_by_port() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
               "spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}}
    result = strategic_merge_patch(service, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, "Service", "")
    assert result["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 9090}]


def test_smp_on_a_custom_resource_is_415() -> None:
    with pytest.raises(UnsupportedMediaType):
        strategic_merge_patch({"spec": {}}, {"spec": {"a": 1}}, "Widget", "example.com")


def test_smp_does_not_mutate_its_inputs() -> None:
    target = deployment()
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}}
    before, patch_before = copy.deepcopy(target), copy.deepcopy(patch)
    result = smp(target, patch)
    result["spec"]["template"]["spec"]["containers"][1]["image"] = "changed"
    assert target == before and patch == patch_before
