"""Custom resources against their CRD's structural schema: pruning, defaulting, validation, CEL rules.

Behaviour per https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
(sections "Field pruning", "Defaulting", "Validation", "Validation rules", "Subresources"):
unknown fields are pruned, `default`s fill missing fields, values breaking the schema make a
422 Invalid naming `<Kind>.<group> "<name>"` and each field, `x-kubernetes-validations` rules
are CEL over `self` (and `oldSelf` for transition rules), and with the status subresource the
main resource ignores status while /status ignores everything else.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["size"],
    "x-kubernetes-validations": [
        {"rule": "self.replicas <= 10 || self.size == 'large'",
         "message": "only large widgets may have more than 10 replicas"},
        {"rule": "self.size == oldSelf.size", "message": "size is immutable"},
        {"rule": "!has(self.name) || self.name != 'taken'",
         "messageExpression": "'name ' + self.name + ' is reserved'"},
    ],
    "properties": {
        "replicas": {"type": "integer", "minimum": 1, "maximum": 100, "default": 3},
        "size": {"type": "string", "enum": ["small", "large"]},
        "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 8, "minLength": 2},
        "port": {"x-kubernetes-int-or-string": True},
        "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
        "note": {"type": "string", "nullable": True},
        "settings": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                     "x-kubernetes-preserve-unknown-fields": True},
        "level": {"type": "object", "properties": {"depth": {"type": "integer", "default": 1}}},
        "since": {"type": "string", "format": "date-time"},
        "ip": {"type": "string", "format": "ipv4"},
        "flavour": {"type": "string", "format": "made-up"},
        "owners": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "required": ["name"],
                            "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}},
    },
}
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": SPEC_SCHEMA,
                               "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}}}]},
}


def widget(object_name: str = "w", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": object_name},
            "spec": {"size": "small", **spec}}


@pytest.fixture
def http(kubesim: Any) -> Any:
    with httpx.Client(base_url=kubesim.url) as client:
        assert client.post(CRDS, json=WIDGET_CRD).status_code == 201
        yield client


def refused(http: httpx.Client, body: dict[str, Any]) -> str:
    response = http.post(WIDGETS, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["reason"] == "Invalid"
    return str(response.json()["message"])


def test_defaults_fill_missing_fields(http: httpx.Client) -> None:
    created = http.post(WIDGETS, json=widget(level={})).json()
    assert created["spec"]["replicas"] == 3
    assert created["spec"]["level"] == {"depth": 1}


def test_defaults_do_not_create_absent_parent_objects(http: httpx.Client) -> None:
    created = http.post(WIDGETS, json=widget()).json()
    assert "level" not in created["spec"]


def test_minimum_is_refused_with_the_real_message(http: httpx.Client) -> None:
    assert refused(http, widget(replicas=0)) == (
        'Widget.example.com "w" is invalid: spec.replicas: Invalid value: 0: '
        "spec.replicas in body should be greater than or equal to 1")


def test_maximum_is_refused(http: httpx.Client) -> None:
    assert "spec.replicas in body should be less than or equal to 100" in refused(http, widget(replicas=101,
                                                                                               size="large"))


def test_wrong_type_is_refused(http: httpx.Client) -> None:
    assert refused(http, widget(replicas="three")).endswith(
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"')


def test_enum_is_refused_with_the_supported_values(http: httpx.Client) -> None:
    assert refused(http, widget(size="huge")).endswith(
        'spec.size: Unsupported value: "huge": supported values: "small", "large"')


def test_required_field_is_refused(http: httpx.Client) -> None:
    body = widget()
    del body["spec"]["size"]
    assert refused(http, body).endswith("spec.size: Required value")


def test_pattern_and_lengths_are_checked(http: httpx.Client) -> None:
    assert "spec.name in body should match '^[a-z]+$'" in refused(http, widget(name="Ab1"))
    assert "spec.name: Too long: may not be longer than 8" in refused(http, widget(name="abcdefghij"))
    assert "spec.name in body should be at least 2 chars long" in refused(http, widget(name="a"))


def test_max_items_is_checked(http: httpx.Client) -> None:
    assert "spec.tags: Too many: 3: must have at most 2 items" in refused(http, widget(tags=["a", "b", "c"]))


def test_int_or_string_takes_both_and_nothing_else(http: httpx.Client) -> None:
    assert http.post(WIDGETS, json=widget("a", port=80)).status_code == 201
    assert http.post(WIDGETS, json=widget("b", port="http")).status_code == 201
    assert "spec.port" in refused(http, widget("c", port=True))


def test_nullable_accepts_null_and_others_do_not(http: httpx.Client) -> None:
    assert http.post(WIDGETS, json=widget("a", note=None)).status_code == 201
    assert "spec.name in body must be of type string" in refused(http, widget("b", name=None))


def test_unknown_fields_are_pruned_but_preserved_where_the_schema_says_so(http: httpx.Client) -> None:
    body = widget(extra=1, settings={"anything": {"goes": True}})
    body["spec"]["template"] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {}}
    response = http.post(f"{WIDGETS}?fieldValidation=Ignore", json=body)
    assert response.status_code == 201, response.text
    spec = http.get(f"{WIDGETS}/w").json()["spec"]
    assert "extra" not in spec
    assert spec["settings"] == {"anything": {"goes": True}}
    assert spec["template"]["metadata"] == {"name": "x"}


def test_strict_refuses_an_unknown_custom_resource_field(http: httpx.Client) -> None:
    response = http.post(f"{WIDGETS}?fieldValidation=Strict", json=widget(replicaz=1))
    assert response.status_code == 400
    assert response.json()["message"] == ('Widget in version "v1" cannot be handled as a Widget: strict decoding '
                                          'error: unknown field "spec.replicaz"')


def test_cel_rule_failure_reports_its_message(http: httpx.Client) -> None:
    assert refused(http, widget(replicas=20)) == (
        'Widget.example.com "w" is invalid: spec: Invalid value: "object": '
        "only large widgets may have more than 10 replicas")


def test_cel_transition_rule_checks_updates_against_the_old_value(http: httpx.Client) -> None:
    created = http.post(WIDGETS, json=widget()).json()
    assert created["spec"]["size"] == "small"  # the transition rule does not apply on create
    response = http.patch(f"{WIDGETS}/w", content=json.dumps({"spec": {"size": "large"}}),
                          headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 422
    assert response.json()["message"].endswith('spec: Invalid value: "object": size is immutable')


def test_main_resource_ignores_status_and_status_subresource_ignores_spec(http: httpx.Client) -> None:
    body = widget()
    body["status"] = {"ready": True}
    created = http.post(WIDGETS, json=body).json()
    assert "status" not in created
    created["status"] = {"ready": True}
    created["spec"]["replicas"] = 7
    updated = http.put(f"{WIDGETS}/w/status", json=created).json()
    assert updated["status"] == {"ready": True}
    assert updated["spec"]["replicas"] == 3


def test_status_is_validated_too(http: httpx.Client) -> None:
    created = http.post(WIDGETS, json=widget()).json()
    created["status"] = {"ready": "yes"}
    response = http.put(f"{WIDGETS}/w/status", json=created)
    assert response.status_code == 422
    assert "status.ready in body must be of type boolean" in response.json()["message"]


def test_an_embedded_resource_must_name_its_api_version_and_kind(http: httpx.Client) -> None:
    message = refused(http, widget(template={"metadata": {"name": "x"}}))
    assert "spec.template.apiVersion: Required value: must not be empty" in message
    assert "spec.template.kind: Required value: must not be empty" in message


def test_known_string_formats_are_checked_and_unknown_ones_ignored(http: httpx.Client) -> None:
    assert refused(http, widget(since="yesterday")).endswith(
        'spec.since: Invalid value: "yesterday": spec.since in body must be of type date-time: "yesterday"')
    assert "spec.ip in body must be of type ipv4" in refused(http, widget(ip="10.0.0.300"))
    ok = widget(since="2026-11-30T01:02:03Z", ip="10.0.0.3", flavour="anything")
    assert http.post(WIDGETS, json=ok).status_code == 201


def test_cel_message_expression_builds_the_message(http: httpx.Client) -> None:
    assert refused(http, widget(name="taken")).endswith('spec: Invalid value: "object": name taken is reserved')


def test_cel_rule_that_cannot_evaluate_refuses_the_object() -> None:
    from kubesim.schema.cel_rules import check

    schema = {"x-kubernetes-validations": [{"rule": "self.replicas <= 10"}]}
    errors = check(schema, {"size": "small"}, None, False, "spec", "object")
    assert [str(e) for e in errors] == [
        'spec: Invalid value: "object": no such key: replicas evaluating rule: self.replicas <= 10']


def test_cel_kubernetes_string_functions_are_available() -> None:
    from kubesim.schema.cel_rules import check

    schema = {"x-kubernetes-validations": [{"rule": "self.lowerAscii().split('-').size() == 2",
                                            "message": "two parts"}]}
    assert check(schema, "Web-App", None, False, "spec.name", "string") == []
    assert [str(e) for e in check(schema, "web", None, False, "spec.name", "string")] == [
        'spec.name: Invalid value: "string": two parts']


def test_set_and_map_lists_refuse_duplicates(http: httpx.Client) -> None:
    assert 'spec.owners[2]: Duplicate value: "a"' in refused(http, widget(owners=["a", "b", "a"]))
    message = refused(http, widget(ports=[{"name": "http", "port": 80}, {"name": "http", "port": 81}]))
    assert 'spec.ports[1]: Duplicate value: map[string]interface {}{"name":"http"}' in message


def test_each_version_is_validated_against_its_own_schema(kubesim: Any) -> None:
    crd = json.loads(json.dumps(WIDGET_CRD))
    v2 = json.loads(json.dumps(crd["spec"]["versions"][0]))
    v2.update(name="v2", storage=False)
    v2["schema"]["openAPIV3Schema"]["properties"]["spec"] = {"type": "object", "properties": {
        "count": {"type": "integer", "maximum": 2}}}
    crd["spec"]["versions"].append(v2)
    with httpx.Client(base_url=kubesim.url) as client:
        assert client.post(CRDS, json=crd).status_code == 201
        body = {"apiVersion": "example.com/v2", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"count": 3}}
        response = client.post("/apis/example.com/v2/namespaces/default/widgets", json=body)
        assert response.status_code == 422
        assert "spec.count in body should be less than or equal to 2" in response.json()["message"]


def test_a_crd_whose_schema_is_not_structural_is_refused(kubesim: Any) -> None:
    crd = json.loads(json.dumps(WIDGET_CRD))
    spec_props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    spec_props["untyped"] = {"description": "no type"}
    spec_props["list"] = {"type": "array"}
    with httpx.Client(base_url=kubesim.url) as client:
        response = client.post(CRDS, json=crd)
    assert response.status_code == 422
    message = response.json()["message"]
    assert message.startswith('CustomResourceDefinition.apiextensions.k8s.io "widgets.example.com" is invalid: ')
    root = "spec.versions[0].schema.openAPIV3Schema.properties[spec]"
    assert f"{root}.properties[untyped].type: Required value: must not be empty for specified object fields" in message
    assert f"{root}.properties[list].items: Required value: must be specified" in message
