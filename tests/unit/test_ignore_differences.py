"""ignoreDifferences: which rules apply, and the fields each kind of rule removes."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.engine.diff.ignore import IgnoreRuleError, apply_ignore_differences, rule_matches
from reconciler.engine.diff.resource_diff import ResourceSyncStatus, diff_resource
from reconciler.model import ResourceIgnoreDifferences
from reconciler.model.resources import ResourceKey

DEPLOY_KEY = ResourceKey("apps", "Deployment", "demo", "web")
CM_KEY = ResourceKey("", "ConfigMap", "demo", "cfg")


def deployment(replicas: int = 2, image: str = "nginx:1.25", sidecar_image: str = "envoy:1") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "demo", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "web", "image": image},
                        {"name": "sidecar", "image": sidecar_image},
                    ]
                }
            },
        },
    }


def configmap(annotations: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "cfg", "namespace": "demo"}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": dict(data)}


def test_rule_kind_glob_matches_every_kind_of_its_group() -> None:
    assert rule_matches(ResourceIgnoreDifferences(group="apps", kind="*"), DEPLOY_KEY)


def test_rule_with_empty_group_matches_only_the_core_group() -> None:
    rule = ResourceIgnoreDifferences(group="", kind="*")

    assert rule_matches(rule, CM_KEY)
    assert not rule_matches(rule, DEPLOY_KEY)


def test_rule_with_a_name_matches_only_that_name() -> None:
    rule = ResourceIgnoreDifferences(group="apps", kind="Deployment", name="other")

    assert not rule_matches(rule, DEPLOY_KEY)


def test_rule_with_a_namespace_matches_only_that_namespace() -> None:
    rule = ResourceIgnoreDifferences(group="apps", kind="Deployment", namespace="prod")

    assert not rule_matches(rule, DEPLOY_KEY)


def test_json_pointer_removes_the_field_from_both_sides() -> None:
    rule = ResourceIgnoreDifferences(group="apps", kind="Deployment", json_pointers=("/spec/replicas",))

    diff = diff_resource(DEPLOY_KEY, deployment(replicas=2), deployment(replicas=5), [rule])

    assert diff.status is ResourceSyncStatus.SYNCED
    assert "replicas" not in diff.live["spec"]  # type: ignore[index]


def test_rule_for_another_kind_leaves_the_difference() -> None:
    rule = ResourceIgnoreDifferences(group="apps", kind="StatefulSet", json_pointers=("/spec/replicas",))

    diff = diff_resource(DEPLOY_KEY, deployment(replicas=2), deployment(replicas=5), [rule])

    assert diff.status is ResourceSyncStatus.OUT_OF_SYNC


def test_json_pointer_decodes_tilde_one_as_a_slash() -> None:
    rule = ResourceIgnoreDifferences(kind="ConfigMap", json_pointers=("/metadata/annotations/example.com~1build",))
    desired = configmap({"example.com/build": "1"}, a="x")
    live = configmap({"example.com/build": "2"}, a="x")

    assert diff_resource(CM_KEY, desired, live, [rule]).status is ResourceSyncStatus.SYNCED


def test_json_pointer_decodes_tilde_zero_as_a_tilde() -> None:
    rule = ResourceIgnoreDifferences(kind="ConfigMap", json_pointers=("/data/a~0b",))

    diff = diff_resource(CM_KEY, configmap(**{"a~b": "1"}), configmap(**{"a~b": "2"}), [rule])

    assert diff.status is ResourceSyncStatus.SYNCED


def test_json_pointer_indexes_into_lists() -> None:
    rule = ResourceIgnoreDifferences(
        group="apps", kind="Deployment", json_pointers=("/spec/template/spec/containers/1/image",)
    )

    diff = diff_resource(DEPLOY_KEY, deployment(sidecar_image="envoy:1"), deployment(sidecar_image="envoy:2"), [rule])

    assert diff.status is ResourceSyncStatus.SYNCED


def test_json_pointer_that_does_not_resolve_is_skipped() -> None:
    rule = ResourceIgnoreDifferences(kind="ConfigMap", json_pointers=("/spec/nothing/here", "/data/9"))

    diff = diff_resource(CM_KEY, configmap(a="1"), configmap(a="2"), [rule])

    assert diff.status is ResourceSyncStatus.OUT_OF_SYNC


def test_json_pointer_without_leading_slash_is_an_error_naming_it() -> None:
    rule = ResourceIgnoreDifferences(kind="ConfigMap", json_pointers=("data/a",))

    with pytest.raises(IgnoreRuleError, match="'data/a'"):
        diff_resource(CM_KEY, configmap(a="1"), configmap(a="2"), [rule])


def test_jq_expression_removes_the_selected_paths() -> None:
    rule = ResourceIgnoreDifferences(
        group="apps",
        kind="Deployment",
        jq_path_expressions=('.spec.template.spec.containers[] | select(.name == "sidecar") | .image',),
    )

    diff = diff_resource(DEPLOY_KEY, deployment(sidecar_image="envoy:1"), deployment(sidecar_image="envoy:2"), [rule])

    assert diff.status is ResourceSyncStatus.SYNCED


def test_jq_expression_removes_only_what_it_selects() -> None:
    rule = ResourceIgnoreDifferences(
        group="apps",
        kind="Deployment",
        jq_path_expressions=('.spec.template.spec.containers[] | select(.name == "sidecar") | .image',),
    )

    diff = diff_resource(DEPLOY_KEY, deployment(image="nginx:1"), deployment(image="nginx:2"), [rule])

    assert diff.status is ResourceSyncStatus.OUT_OF_SYNC


def test_jq_expression_failing_on_an_object_leaves_it_unchanged() -> None:
    # Written for Deployments but matched against a ConfigMap: `containers[]` iterates null.
    rule = ResourceIgnoreDifferences(kind="*", jq_path_expressions=(".spec.template.spec.containers[] | .image",))

    desired, live = apply_ignore_differences(CM_KEY, configmap(a="1"), configmap(a="2"), [rule])

    assert desired == configmap(a="1")
    assert live == configmap(a="2")


def test_jq_expression_that_does_not_compile_is_an_error_naming_it() -> None:
    rule = ResourceIgnoreDifferences(kind="ConfigMap", jq_path_expressions=(".data[[",))

    with pytest.raises(IgnoreRuleError, match=r"'\.data\[\['"):
        diff_resource(CM_KEY, configmap(a="1"), configmap(a="2"), [rule])


def with_managed_fields(obj: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    obj["metadata"]["managedFields"] = [
        {"manager": manager, "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": fields}
        for entry in entries
        for manager, fields in entry.items()
    ]
    return obj


def test_managed_fields_manager_fields_are_ignored() -> None:
    live = with_managed_fields(deployment(replicas=7), [{"kube-controller-manager": {"f:spec": {"f:replicas": {}}}}])
    rule = ResourceIgnoreDifferences(
        group="apps", kind="Deployment", managed_fields_managers=("kube-controller-manager",)
    )

    diff = diff_resource(DEPLOY_KEY, deployment(replicas=2), live, [rule])

    assert diff.status is ResourceSyncStatus.SYNCED


def test_managed_fields_of_a_list_map_item_are_found_by_key() -> None:
    owned = {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"sidecar"}': {".": {}, "f:image": {}}}}}}}
    live = with_managed_fields(deployment(sidecar_image="envoy:9"), [{"mesh-injector": owned}])
    rule = ResourceIgnoreDifferences(group="apps", kind="Deployment", managed_fields_managers=("mesh-injector",))

    diff = diff_resource(DEPLOY_KEY, deployment(sidecar_image="envoy:1"), live, [rule])

    assert diff.status is ResourceSyncStatus.SYNCED


def test_managed_fields_of_other_managers_are_still_compared() -> None:
    live = with_managed_fields(
        deployment(replicas=7),
        [
            {"kube-controller-manager": {"f:spec": {"f:replicas": {}}}},
            {"someone": {"f:metadata": {"f:labels": {"f:app": {}}}}},
        ],
    )
    rule = ResourceIgnoreDifferences(group="apps", kind="Deployment", managed_fields_managers=("someone",))

    diff = diff_resource(DEPLOY_KEY, deployment(replicas=2), live, [rule])

    assert diff.status is ResourceSyncStatus.OUT_OF_SYNC


def test_managed_fields_keep_shared_map_entries_of_other_managers() -> None:
    live = deployment()
    live["metadata"]["labels"]["injected"] = "yes"
    owned = {"f:metadata": {"f:labels": {".": {}, "f:injected": {}}}}
    live = with_managed_fields(live, [{"labeler": owned}])
    rule = ResourceIgnoreDifferences(group="apps", kind="Deployment", managed_fields_managers=("labeler",))

    _, stripped_live = apply_ignore_differences(DEPLOY_KEY, deployment(), live, [rule])

    assert stripped_live["metadata"]["labels"] == {"app": "web"}  # type: ignore[index]


def test_ignore_differences_does_not_modify_its_arguments() -> None:
    desired, live = deployment(replicas=2), deployment(replicas=5)
    rule = ResourceIgnoreDifferences(group="apps", kind="Deployment", json_pointers=("/spec/replicas",))

    apply_ignore_differences(DEPLOY_KEY, desired, live, [rule])

    assert desired["spec"]["replicas"] == 2
    assert live["spec"]["replicas"] == 5
