"""Desired vs live comparison: normalisation, exact and subset modes, app status."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reconciler.engine.diff.resource_diff import (
    AppSyncStatus,
    ResourceSyncStatus,
    app_sync_status,
    diff_resource,
    diff_resources,
    normalize,
)
from reconciler.model.resources import COMPARE_OPTIONS_ANNOTATION, ResourceKey


def configmap(name: str = "cfg", namespace: str = "demo", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": dict(data),
    }


def as_stored(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` with the bookkeeping a real API server adds on write."""
    stored = copy.deepcopy(obj)
    stored["metadata"].update(
        {
            "uid": "0b7c5d52-1111-2222-3333-444455556666",
            "resourceVersion": "4711",
            "generation": 3,
            "creationTimestamp": "2024-05-01T10:00:00Z",
            "managedFields": [{"manager": "reconciler", "operation": "Apply", "fieldsType": "FieldsV1"}],
        }
    )
    stored["status"] = {"observedGeneration": 3}
    return stored


def deployment_manifest(image: str = "nginx:1.25") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "demo"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 80}]}]},
            },
        },
    }


def deployment_as_defaulted(image: str = "nginx:1.25") -> dict[str, Any]:
    """The manifest after the API server's defaulting (see kubernetes-api.md)."""
    live = as_stored(deployment_manifest(image))
    spec = live["spec"]
    spec.update(
        {
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
        }
    )
    pod = spec["template"]["spec"]
    pod.update({"restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "securityContext": {}})
    container = pod["containers"][0]
    container.update({"imagePullPolicy": "IfNotPresent", "terminationMessagePolicy": "File"})
    container["ports"][0]["protocol"] = "TCP"
    live["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    return live


CM_KEY = ResourceKey("", "ConfigMap", "demo", "cfg")
DEPLOY_KEY = ResourceKey("apps", "Deployment", "demo", "web")


def test_normalize_strips_server_bookkeeping_and_status() -> None:
    stored = as_stored(configmap(a="1"))
    stored["metadata"]["selfLink"] = "/api/v1/namespaces/demo/configmaps/cfg"

    assert normalize(stored) == configmap(a="1")


def test_normalize_drops_last_applied_annotation_and_the_map_it_leaves_empty() -> None:
    obj = configmap(a="1")
    obj["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{}"}

    assert "annotations" not in normalize(obj)["metadata"]


def test_normalize_keeps_user_annotations() -> None:
    obj = configmap(a="1")
    obj["metadata"]["annotations"] = {"team": "payments"}

    assert normalize(obj)["metadata"]["annotations"] == {"team": "payments"}


def test_normalize_folds_secret_string_data_into_base64_data() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "stringData": {"user": "admin"},
    }

    normalized = normalize(secret)

    assert normalized["data"] == {"user": "YWRtaW4="}
    assert "stringData" not in normalized


def test_normalize_does_not_modify_its_argument() -> None:
    stored = as_stored(configmap(a="1"))
    before = copy.deepcopy(stored)

    normalize(stored)

    assert stored == before


def test_exact_mode_reports_synced_when_only_bookkeeping_differs() -> None:
    dry_run_result = as_stored(configmap(a="1"))
    dry_run_result["metadata"]["resourceVersion"] = "9999"

    diff = diff_resource(CM_KEY, dry_run_result, as_stored(configmap(a="1")))

    assert diff.status is ResourceSyncStatus.SYNCED


def test_exact_mode_reports_out_of_sync_when_a_value_differs() -> None:
    diff = diff_resource(CM_KEY, as_stored(configmap(a="2")), as_stored(configmap(a="1")))

    assert diff.status is ResourceSyncStatus.OUT_OF_SYNC


def test_exact_mode_reports_a_field_only_live_has() -> None:
    diff = diff_resource(CM_KEY, configmap(a="1"), configmap(a="1", b="2"))

    assert diff.status is ResourceSyncStatus.OUT_OF_SYNC


def test_synced_diff_has_empty_text() -> None:
    diff = diff_resource(CM_KEY, configmap(a="1"), as_stored(configmap(a="1")))

    assert diff.text == ""


def test_out_of_sync_text_is_a_unified_diff_from_live_to_desired() -> None:
    diff = diff_resource(CM_KEY, configmap(a="new"), configmap(a="old"))

    assert diff.text.startswith(f"--- live/{CM_KEY}\n+++ desired/{CM_KEY}\n")
    assert "-  a: old\n" in diff.text
    assert "+  a: new\n" in diff.text


def test_diff_keeps_normalised_copies_of_both_sides() -> None:
    diff = diff_resource(CM_KEY, configmap(a="1"), as_stored(configmap(a="1")))

    assert diff.live == configmap(a="1")
    assert diff.desired == configmap(a="1")


def test_object_only_in_git_is_missing() -> None:
    diff = diff_resource(CM_KEY, configmap(a="1"), None)

    assert diff.status is ResourceSyncStatus.MISSING
    assert diff.live is None
    assert "+  a: '1'\n" in diff.text


def test_object_only_live_is_extra() -> None:
    diff = diff_resource(CM_KEY, None, configmap(a="1"))

    assert diff.status is ResourceSyncStatus.EXTRA
    assert diff.desired is None


def test_diff_resource_rejects_two_absent_sides() -> None:
    with pytest.raises(ValueError, match="both None"):
        diff_resource(CM_KEY, None, None)


def test_diff_resource_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode must be"):
        diff_resource(CM_KEY, configmap(), configmap(), mode="loose")  # type: ignore[arg-type]


def test_exact_mode_flags_server_defaults_missing_from_a_raw_manifest() -> None:
    # The reason subset mode exists: a raw manifest never equals a defaulted object.
    diff = diff_resource(DEPLOY_KEY, deployment_manifest(), deployment_as_defaulted())

    assert diff.status is ResourceSyncStatus.OUT_OF_SYNC


def test_subset_mode_ignores_server_defaults_the_manifest_does_not_set() -> None:
    diff = diff_resource(DEPLOY_KEY, deployment_manifest(), deployment_as_defaulted(), mode="subset")

    assert diff.status is ResourceSyncStatus.SYNCED


def test_subset_mode_detects_a_changed_field_inside_a_list_item() -> None:
    diff = diff_resource(
        DEPLOY_KEY, deployment_manifest("nginx:1.26"), deployment_as_defaulted("nginx:1.25"), mode="subset"
    )

    assert diff.status is ResourceSyncStatus.OUT_OF_SYNC


def test_subset_mode_detects_an_extra_live_list_item() -> None:
    live = deployment_as_defaulted()
    live["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "envoy:1"})

    diff = diff_resource(DEPLOY_KEY, deployment_manifest(), live, mode="subset")

    assert diff.status is ResourceSyncStatus.OUT_OF_SYNC


def test_subset_mode_matches_an_empty_map_in_git_to_an_absent_live_field() -> None:
    desired = deployment_manifest()
    desired["spec"]["template"]["spec"]["containers"][0]["resources"] = {}

    diff = diff_resource(DEPLOY_KEY, desired, deployment_as_defaulted(), mode="subset")

    assert diff.status is ResourceSyncStatus.SYNCED


def test_subset_mode_text_shows_the_change_but_not_the_defaults() -> None:
    diff = diff_resource(
        DEPLOY_KEY, deployment_manifest("nginx:1.26"), deployment_as_defaulted("nginx:1.25"), mode="subset"
    )

    changed = [line for line in diff.text.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert [line.strip("+- ") for line in changed] == ["image: nginx:1.25", "image: nginx:1.26"]
    assert "progressDeadlineSeconds" not in diff.text
    assert "TCP" not in diff.text


def test_diff_resources_covers_both_sides_sorted_by_key() -> None:
    other = ResourceKey("", "ConfigMap", "demo", "aaa")
    gone = ResourceKey("", "ConfigMap", "demo", "zzz")
    diffs = diff_resources(
        {CM_KEY: configmap(a="1"), other: configmap("aaa")},
        {CM_KEY: configmap(a="1"), gone: configmap("zzz")},
    )

    assert [(d.key, d.status) for d in diffs] == [
        (other, ResourceSyncStatus.MISSING),
        (CM_KEY, ResourceSyncStatus.SYNCED),
        (gone, ResourceSyncStatus.EXTRA),
    ]


def test_diff_resources_uses_the_mode_given_per_key() -> None:
    diffs = diff_resources(
        {DEPLOY_KEY: deployment_manifest()},
        {DEPLOY_KEY: deployment_as_defaulted()},
        mode={DEPLOY_KEY: "subset"},
    )

    assert diffs[0].status is ResourceSyncStatus.SYNCED


def test_app_with_every_resource_synced_is_synced() -> None:
    diffs = [diff_resource(CM_KEY, configmap(a="1"), configmap(a="1"))]

    assert app_sync_status(diffs) is AppSyncStatus.SYNCED


def test_app_without_resources_is_synced() -> None:
    assert app_sync_status([]) is AppSyncStatus.SYNCED


@pytest.mark.parametrize(
    ("desired", "live"),
    [(configmap(a="2"), configmap(a="1")), (configmap(a="1"), None), (None, configmap(a="1"))],
    ids=["out-of-sync", "missing", "extra"],
)
def test_app_with_any_resource_not_synced_is_out_of_sync(
    desired: dict[str, Any] | None, live: dict[str, Any] | None
) -> None:
    diffs = [
        diff_resource(DEPLOY_KEY, deployment_manifest(), deployment_manifest()),
        diff_resource(CM_KEY, desired, live),
    ]

    assert app_sync_status(diffs) is AppSyncStatus.OUT_OF_SYNC


def test_extra_resource_marked_ignore_extraneous_does_not_make_the_app_out_of_sync() -> None:
    live = configmap(a="1")
    live["metadata"]["annotations"] = {COMPARE_OPTIONS_ANNOTATION: "IgnoreExtraneous"}

    assert app_sync_status([diff_resource(CM_KEY, None, live)]) is AppSyncStatus.SYNCED
