"""Client-side apply's three-way patches and client-side-apply migration, as pure functions.

Expected patches are the ones k8s.io/apimachinery's strategicpatch.CreateThreeWayMergePatch
and jsonmergepatch.CreateThreeWayJSONMergePatch produce for the same inputs (their test
tables: deletions from original→modified, changes from current→modified, server-side fields
untouched), and csaupgrade.UpgradeManagedFields' documented behaviour.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.engine.cluster.csa_migration import migration_patch, upgraded_managed_fields
from reconciler.engine.cluster.patch_schema import SchemaNode, is_builtin
from reconciler.engine.cluster.three_way import (
    LAST_APPLIED_ANNOTATION,
    last_applied_json,
    original_of,
    three_way_merge_patch,
    three_way_strategic_patch,
    with_last_applied,
)

COMPONENTS: dict[str, Any] = {
    "PodSpec": {"properties": {
        "containers": {"type": "array", "items": {"$ref": "#/components/schemas/Container"},
                       "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
        "imagePullSecrets": {"type": "array", "items": {"type": "object"}},
    }},
    "Container": {"properties": {
        "env": {"type": "array", "items": {"type": "object"},
                "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
        "args": {"type": "array", "items": {"type": "string"}},
    }},
    "ObjectMeta": {"properties": {
        "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-patch-strategy": "merge"},
    }},
    "Pod": {"properties": {"metadata": {"allOf": [{"$ref": "#/components/schemas/ObjectMeta"}]},
                           "spec": {"allOf": [{"$ref": "#/components/schemas/PodSpec"}]}}},
}
POD_SCHEMA = SchemaNode(COMPONENTS["Pod"], COMPONENTS)


def pod(containers: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", **meta}, "spec": {"containers": containers}}


def test_last_applied_is_go_json_of_the_object_with_empty_annotations() -> None:
    obj = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "c"}, "data": {"b": "2", "a": "1"}}
    text = last_applied_json(obj)
    assert text == '{"apiVersion":"v1","data":{"a":"1","b":"2"},"kind":"ConfigMap",' \
                   '"metadata":{"annotations":{},"name":"c"}}\n'
    modified = with_last_applied(obj)
    assert modified["metadata"]["annotations"] == {LAST_APPLIED_ANNOTATION: text}
    assert original_of(modified) == json.loads(text)
    assert "annotations" not in obj["metadata"]  # the caller's object is untouched


def test_merge_patch_sets_changes_and_deletes_only_what_was_dropped_since_last_applied() -> None:
    original = {"spec": {"a": 1, "b": 2, "list": [1, 2]}}
    modified = {"spec": {"a": 5, "list": [1]}}
    current = {"spec": {"a": 1, "b": 2, "list": [1, 2], "server": "x"}, "status": {"ok": True}}
    assert three_way_merge_patch(original, modified, current) == {"spec": {"a": 5, "b": None, "list": [1]}}


def test_merge_patch_is_empty_when_nothing_changed() -> None:
    same = {"spec": {"a": 1}}
    assert three_way_merge_patch(same, same, {"spec": {"a": 1, "other": 2}}) == {}


def test_strategic_patch_merges_keyed_lists_and_deletes_dropped_elements() -> None:
    original = pod([{"name": "a", "image": "x:1", "env": [{"name": "E", "value": "1"}, {"name": "F", "value": "2"}]},
                    {"name": "b", "image": "y:1"}])
    modified = pod([{"name": "a", "image": "x:2", "env": [{"name": "E", "value": "1"}]}])
    current = pod([{"name": "a", "image": "x:1", "terminationMessagePath": "/dev/termination-log",
                    "env": [{"name": "E", "value": "1"}, {"name": "F", "value": "2"}]},
                   {"name": "b", "image": "y:1"}, {"name": "sidecar", "image": "mesh:1"}])
    patch = three_way_strategic_patch(original, modified, current, POD_SCHEMA)
    assert patch == {"spec": {
        "containers": [
            {"name": "a", "image": "x:2", "env": [{"name": "F", "$patch": "delete"}],
             "$setElementOrder/env": [{"name": "E"}]},
            {"name": "b", "$patch": "delete"},
        ],
        "$setElementOrder/containers": [{"name": "a"}],
    }}


def test_strategic_patch_replaces_atomic_lists_and_merges_primitive_merge_lists() -> None:
    original = pod([{"name": "a", "args": ["--x"]}], finalizers=["one", "two"])
    modified = pod([{"name": "a", "args": ["--y"]}], finalizers=["one", "three"])
    current = pod([{"name": "a", "args": ["--x"]}], finalizers=["one", "two", "theirs"])
    patch = three_way_strategic_patch(original, modified, current, POD_SCHEMA)
    assert patch["metadata"] == {"finalizers": ["three"], "$deleteFromPrimitiveList/finalizers": ["two"],
                                 "$setElementOrder/finalizers": ["one", "three"]}
    assert patch["spec"]["containers"][0] == {"name": "a", "args": ["--y"]}


def test_only_compiled_in_groups_take_a_strategic_patch() -> None:
    assert is_builtin("v1") and is_builtin("apps/v1") and is_builtin("networking.k8s.io/v1")
    assert not is_builtin("gateway.networking.k8s.io/v1") and not is_builtin("example.com/v1")


def entry(manager: str, operation: str, fields: dict[str, Any], api_version: str = "v1") -> dict[str, Any]:
    return {"manager": manager, "operation": operation, "apiVersion": api_version, "time": "2026-01-01T00:00:00Z",
            "fieldsType": "FieldsV1", "fieldsV1": fields}


CSA_FIELDS = {"f:data": {"f:A": {}, "f:B": {}},
              "f:metadata": {"f:annotations": {".": {}, f"f:{LAST_APPLIED_ANNOTATION}": {}}}}


def test_migration_joins_client_side_fields_into_our_apply_entry() -> None:
    managed = [entry("kubectl-client-side-apply", "Update", CSA_FIELDS), entry("me", "Apply", {"f:data": {"f:A": {}}}),
               entry("kubectl-edit", "Update", {"f:data": {"f:C": {}}})]
    upgraded = upgraded_managed_fields(managed, ["kubectl-client-side-apply"], "me")
    assert upgraded is not None
    assert [(e["manager"], e["operation"]) for e in upgraded] == [("me", "Apply"), ("kubectl-edit", "Update")]
    assert upgraded[0]["fieldsV1"] == CSA_FIELDS  # A and B and the annotation, now ours


def test_migration_turns_the_client_side_entry_into_ours_when_we_have_none() -> None:
    upgraded = upgraded_managed_fields([entry("kubectl-client-side-apply", "Update", CSA_FIELDS)],
                                       ["kubectl-client-side-apply"], "me")
    assert upgraded is not None and [(e["manager"], e["operation"], e["fieldsV1"]) for e in upgraded] == [
        ("me", "Apply", CSA_FIELDS)]


def test_nothing_to_migrate_is_no_patch() -> None:
    live = {"metadata": {"resourceVersion": "9", "managedFields": [entry("me", "Apply", {"f:data": {}})]}}
    assert migration_patch(live, ["kubectl-client-side-apply"], "me") is None


def test_the_migration_patch_carries_the_resource_version_it_was_computed_from() -> None:
    live = {"metadata": {"resourceVersion": "9", "managedFields": [entry("kubectl-client-side-apply", "Update",
                                                                        CSA_FIELDS)]}}
    patch = migration_patch(live, ["kubectl-client-side-apply"], "me")
    assert patch is not None
    assert patch[1] == {"op": "replace", "path": "/metadata/resourceVersion", "value": "9"}
    assert patch[0]["path"] == "/metadata/managedFields" and patch[0]["value"][0]["manager"] == "me"


def test_last_applied_escapes_html_characters_as_go_does() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"q": "a<b>&c\u2028"}}
    assert '"q":"a\\u003cb\\u003e\\u0026c\\u2028"' in last_applied_json(obj)
    assert json.loads(last_applied_json(obj))["data"]["q"] == "a<b>&c\u2028"
