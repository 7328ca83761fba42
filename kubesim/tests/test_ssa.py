"""Server-side apply and field ownership, as https://kubernetes.io/docs/reference/using-api/server-side-apply/
describes them (conflicts, shared ownership, removal of fields a manager stops applying)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubesim.errors import ApplyConflict
from kubesim.verbs import ssa


def deployment(replicas: int = 2, image: str = "nginx:1.25", **extra: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web", "image": image, "ports": [{"containerPort": 80}]}
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}},
        },
    }
    obj["spec"].update(extra)
    return obj


def apply_deployment(live: dict[str, Any] | None, applied: dict[str, Any], manager: str = "argo",
                     force: bool = False, now: str = "2024-01-01T00:00:00Z") -> dict[str, Any]:
    return ssa.apply(live, applied, manager=manager, force=force, now=now, group="apps", kind="Deployment")


def stored(obj: dict[str, Any]) -> dict[str, Any]:
    """What the server would persist: the result plus the fields it fills in."""
    out = copy.deepcopy(obj)
    out["metadata"].update(uid="u-1", resourceVersion="7", creationTimestamp="2024-01-01T00:00:00Z")
    return out


def entry(obj: dict[str, Any], manager: str, operation: str = "Apply") -> dict[str, Any]:
    found = [e for e in obj["metadata"].get("managedFields", [])
             if e["manager"] == manager and e["operation"] == operation]
    assert len(found) == 1, obj["metadata"].get("managedFields")
    return found[0]


def scale(live: dict[str, Any], replicas: int, manager: str = "kubectl") -> dict[str, Any]:
    new = copy.deepcopy(live)
    new["spec"]["replicas"] = replicas
    return ssa.track_update(live, new, manager=manager, now="2024-01-02T00:00:00Z", group="apps",
                            kind="Deployment")


def test_apply_create_records_the_applied_fields_in_fields_v1_encoding() -> None:
    result = apply_deployment(None, deployment())
    mine = entry(result, "argo")
    assert mine["apiVersion"] == "apps/v1"
    assert mine["fieldsType"] == "FieldsV1"
    assert mine["time"] == "2024-01-01T00:00:00Z"
    container = mine["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    assert container["."] == {}
    assert container["f:ports"]['k:{"containerPort":80,"protocol":"TCP"}'] == {".": {}, "f:containerPort": {}}
    assert mine["fieldsV1"]["f:spec"]["f:selector"] == {}  # a LabelSelector is atomic


def test_apply_does_not_track_name_namespace_api_version_or_kind() -> None:
    fields = entry(apply_deployment(None, deployment()), "argo")["fieldsV1"]
    assert set(fields) == {"f:metadata", "f:spec"}
    assert set(fields["f:metadata"]) == {"f:labels"}


def test_apply_create_returns_the_object_without_server_assigned_fields() -> None:
    result = apply_deployment(None, deployment())
    assert "uid" not in result["metadata"] and "resourceVersion" not in result["metadata"]
    assert result["spec"]["replicas"] == 2


def test_reapplying_the_same_config_returns_an_object_equal_to_live() -> None:
    live = stored(apply_deployment(None, deployment()))
    again = apply_deployment(live, deployment(), now="2030-01-01T00:00:00Z")
    assert again == live


def test_apply_never_mutates_its_inputs() -> None:
    live = stored(apply_deployment(None, deployment()))
    applied = deployment(replicas=3)
    live_before, applied_before = copy.deepcopy(live), copy.deepcopy(applied)
    apply_deployment(live, applied)
    assert live == live_before and applied == applied_before


def test_apply_changing_a_value_updates_the_entry_time() -> None:
    live = stored(apply_deployment(None, deployment()))
    result = apply_deployment(live, deployment(replicas=4), now="2024-02-01T00:00:00Z")
    assert result["spec"]["replicas"] == 4
    assert entry(result, "argo")["time"] == "2024-02-01T00:00:00Z"


def test_update_takes_ownership_of_the_fields_it_changes() -> None:
    live = stored(apply_deployment(None, deployment()))
    scaled = scale(live, 5)
    assert entry(scaled, "kubectl", "Update")["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in entry(scaled, "argo")["fieldsV1"]["f:spec"]


def test_apply_conflicts_with_a_field_another_manager_changed() -> None:
    live = stored(scale(stored(apply_deployment(None, deployment())), 5))
    with pytest.raises(ApplyConflict) as caught:
        apply_deployment(live, deployment(replicas=2))
    assert caught.value.code == 409
    assert caught.value.conflicts == [("kubectl", ".spec.replicas", "apps/v1", "")]
    assert 'conflict with "kubectl" using apps/v1: .spec.replicas' in caught.value.message


def test_apply_with_force_takes_over_the_conflicting_field() -> None:
    live = stored(scale(stored(apply_deployment(None, deployment())), 5))
    result = apply_deployment(live, deployment(replicas=2), force=True)
    assert result["spec"]["replicas"] == 2
    assert "f:replicas" in entry(result, "argo")["fieldsV1"]["f:spec"]
    managers = {(e["manager"], e["operation"]) for e in result["metadata"]["managedFields"]}
    assert managers == {("argo", "Apply")}  # kubectl's entry had nothing left


def test_applying_the_value_another_manager_set_is_shared_ownership_not_a_conflict() -> None:
    live = stored(scale(stored(apply_deployment(None, deployment())), 5))
    result = apply_deployment(live, deployment(replicas=5))
    assert "f:replicas" in entry(result, "argo")["fieldsV1"]["f:spec"]
    assert entry(result, "kubectl", "Update")["fieldsV1"] == {"f:spec": {"f:replicas": {}}}


def test_apply_conflicts_between_two_appliers() -> None:
    live = stored(apply_deployment(None, deployment()))
    with pytest.raises(ApplyConflict) as caught:
        apply_deployment(live, deployment(image="nginx:1.26"), manager="other")
    assert caught.value.conflicts == [
        ("argo", '.spec.template.spec.containers[name="web"].image', "", ""),
    ]


def test_a_field_left_out_of_the_config_is_removed_when_no_one_else_owns_it() -> None:
    live = stored(apply_deployment(None, deployment(minReadySeconds=5)))
    result = apply_deployment(live, deployment())
    assert "minReadySeconds" not in result["spec"]


def test_a_field_left_out_of_the_config_stays_when_another_manager_owns_it() -> None:
    first = stored(apply_deployment(None, deployment(minReadySeconds=5)))
    shared = stored(apply_deployment(first, deployment(minReadySeconds=5), manager="other"))
    result = apply_deployment(shared, deployment())
    assert result["spec"]["minReadySeconds"] == 5


def test_a_list_item_left_out_is_removed_and_its_siblings_kept() -> None:
    two = deployment()
    two["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox:1"})
    live = stored(apply_deployment(None, two))
    result = apply_deployment(live, deployment())
    assert [c["name"] for c in result["spec"]["template"]["spec"]["containers"]] == ["web"]


def test_a_label_left_out_is_removed_and_an_emptied_map_goes_with_it() -> None:
    live = stored(apply_deployment(None, deployment()))
    applied = deployment()
    del applied["metadata"]["labels"]
    result = apply_deployment(live, applied)
    assert "labels" not in result["metadata"]


def test_fields_no_manager_owns_are_kept_by_apply() -> None:
    live = stored(apply_deployment(None, deployment()))
    live["spec"]["progressDeadlineSeconds"] = 600  # a server default: owned by nobody
    result = apply_deployment(live, deployment(replicas=3))
    assert result["spec"]["progressDeadlineSeconds"] == 600


def test_container_ports_merge_by_container_port_and_defaulted_protocol() -> None:
    live = stored(apply_deployment(None, deployment()))
    live["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = "TCP"  # defaulted
    result = apply_deployment(live, deployment())
    assert result["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP"}
    ]


def test_atomic_list_is_replaced_whole() -> None:
    live = stored(apply_deployment(None, deployment()))
    applied = deployment()
    applied["spec"]["template"]["spec"]["containers"][0]["args"] = ["--b"]
    live["spec"]["template"]["spec"]["containers"][0]["args"] = ["--a", "--c"]
    result = apply_deployment(live, applied, force=True)
    assert result["spec"]["template"]["spec"]["containers"][0]["args"] == ["--b"]


def test_atomic_selector_map_is_replaced_not_merged() -> None:
    live = stored(apply_deployment(None, deployment()))
    applied = deployment()
    applied["spec"]["selector"] = {"matchLabels": {"tier": "web"}}
    result = apply_deployment(live, applied)
    assert result["spec"]["selector"] == {"matchLabels": {"tier": "web"}}


def test_finalizers_are_a_set_encoded_with_values() -> None:
    applied = deployment()
    applied["metadata"]["finalizers"] = ["example.com/keep"]
    fields = entry(apply_deployment(None, applied), "argo")["fieldsV1"]
    assert fields["f:metadata"]["f:finalizers"] == {'v:"example.com/keep"': {}}


def test_custom_resource_lists_are_atomic() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
              "spec": {"items": [{"name": "a"}]}}
    result = ssa.apply(None, widget, manager="argo", force=False, now="t", group="example.com", kind="Widget")
    assert entry(result, "argo")["fieldsV1"] == {"f:spec": {"f:items": {}}}


def test_apply_to_the_main_resource_ignores_status_when_there_is_a_status_subresource() -> None:
    live = stored(apply_deployment(None, deployment()))
    live["status"] = {"replicas": 2}
    applied = deployment()
    applied["status"] = {"replicas": 99}
    result = apply_deployment(live, applied)
    assert result["status"] == {"replicas": 2}
    assert "f:status" not in entry(result, "argo")["fieldsV1"]


def test_apply_of_status_is_kept_for_a_custom_resource_without_status_subresource() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "status": {"ok": True}}
    result = ssa.apply(None, widget, manager="argo", force=False, now="t", group="example.com", kind="Widget")
    assert result["status"] == {"ok": True}


def test_missing_list_map_key_in_applied_config_is_an_error_naming_the_list() -> None:
    applied = deployment()
    del applied["spec"]["template"]["spec"]["containers"][0]["name"]
    with pytest.raises(Exception, match=r'\.spec\.template\.spec\.containers.*omits key field "name"'):
        apply_deployment(None, applied)


def test_update_removing_a_field_drops_it_from_every_manager() -> None:
    live = stored(apply_deployment(None, deployment(minReadySeconds=5)))
    new = copy.deepcopy(live)
    del new["spec"]["minReadySeconds"]
    result = ssa.track_update(live, new, manager="kubectl-edit", now="t2", group="apps", kind="Deployment")
    assert "f:minReadySeconds" not in entry(result, "argo")["fieldsV1"]["f:spec"]


def test_update_that_changes_nothing_leaves_managed_fields_untouched() -> None:
    live = stored(apply_deployment(None, deployment()))
    result = ssa.track_update(live, copy.deepcopy(live), manager="kubectl", now="t2", group="apps",
                              kind="Deployment")
    assert result == live


def test_update_without_managed_fields_in_the_body_keeps_the_stored_ones() -> None:
    live = stored(apply_deployment(None, deployment()))
    new = copy.deepcopy(live)
    del new["metadata"]["managedFields"]
    result = ssa.track_update(live, new, manager="kubectl", now="t2", group="apps", kind="Deployment")
    assert result["metadata"]["managedFields"] == live["metadata"]["managedFields"]


def test_create_by_update_gives_the_creator_every_field() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "b"}},
           "data": {"k": "v"}}
    result = ssa.track_update(None, obj, manager="kubectl-create", now="t", group="", kind="ConfigMap")
    assert entry(result, "kubectl-create", "Update")["fieldsV1"] == {
        "f:data": {"f:k": {}}, "f:metadata": {"f:labels": {"f:a": {}}}}


def test_status_subresource_update_is_recorded_with_its_subresource() -> None:
    live = stored(apply_deployment(None, deployment()))
    new = copy.deepcopy(live)
    new["status"] = {"readyReplicas": 2}
    result = ssa.track_update(live, new, manager="controller", now="t", group="apps", kind="Deployment",
                              subresource="status")
    status_entry = entry(result, "controller", "Update")
    assert status_entry["subresource"] == "status"
    assert status_entry["fieldsV1"] == {"f:status": {"f:readyReplicas": {}}}


def test_managed_fields_entries_are_sorted_apply_before_update() -> None:
    live = stored(scale(stored(apply_deployment(None, deployment())), 5))
    operations = [e["operation"] for e in live["metadata"]["managedFields"]]
    assert operations == ["Apply", "Update"]
