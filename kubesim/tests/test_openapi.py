"""OpenAPI documents kubectl downloads: /openapi/v2 (JSON and protobuf) and /openapi/v3.

Behaviour per https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-interface-definition
(/openapi/v2 with `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`;
/openapi/v3 a discovery index of `serverRelativeURL`s, one document per group/version) and
https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#publish-validation-schema-in-openapi
(CRD schemas are published, with x-kubernetes-group-version-kind).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "description": "A Widget is a thing made for tests.",
                 "properties": {"spec": {"type": "object", "properties": {
                     "size": {"type": "string", "description": "How big the widget is."}}}}}}}]},
}


@pytest.fixture
def http(kubesim: Any) -> Any:
    with httpx.Client(base_url=kubesim.url) as client:
        yield client


def test_v2_definitions_carry_group_version_kind_and_descriptions(http: httpx.Client) -> None:
    doc = http.get("/openapi/v2").json()
    deployment = doc["definitions"]["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment",
                                                               "version": "v1"}]
    assert deployment["description"].startswith("Deployment enables declarative updates")
    assert deployment["properties"]["spec"]["$ref"] == "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"


def test_v2_keeps_patch_merge_keys_and_list_types(http: httpx.Client) -> None:
    pod_spec = http.get("/openapi/v2").json()["definitions"]["io.k8s.api.core.v1.PodSpec"]
    containers = pod_spec["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-list-type"] == "map"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]


def test_int_or_string_is_a_string_with_format_int_or_string(http: httpx.Client) -> None:
    definitions = http.get("/openapi/v2").json()["definitions"]
    assert definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"


def test_v2_info_names_the_release_that_version_reports(http: httpx.Client) -> None:
    info = http.get("/openapi/v2").json()["info"]
    version = http.get("/version").json()
    assert info["version"] == version["gitVersion"]
    assert version["minor"] == "31"


def test_v2_answers_protobuf_when_asked_first(http: httpx.Client) -> None:
    response = http.get("/openapi/v2", headers={"Accept": f"{PROTOBUF},application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"].endswith("+protobuf")
    assert response.content[:1] == b"\x0a"  # field 1 (swagger), length-delimited
    assert b"io.k8s.api.apps.v1.Deployment" in response.content


def test_v3_index_lists_every_group_version_with_a_hashed_url(http: httpx.Client) -> None:
    paths = http.get("/openapi/v3").json()["paths"]
    assert {"api/v1", "apis/apps/v1", "apis/batch/v1"} <= set(paths)
    url = paths["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=")
    assert http.get(url).status_code == 200


def test_v3_patch_operations_declare_field_validation(http: httpx.Client) -> None:
    """kubectl reads this parameter to know the server validates fields itself."""
    doc = http.get("/openapi/v3/apis/apps/v1").json()
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert any(p["name"] == "fieldValidation" and p["in"] == "query" for p in patch["parameters"])


def test_v3_components_resolve_every_reference(http: httpx.Client) -> None:
    doc = http.get("/openapi/v3/api/v1").json()
    schemas = doc["components"]["schemas"]
    text = str(doc)
    refs = {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}
    assert refs <= set(schemas)
    assert "io.k8s.api.core.v1.Pod" in schemas


def test_a_crd_schema_is_published_under_its_group_version(http: httpx.Client) -> None:
    assert http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=WIDGET_CRD).status_code == 201
    assert "apis/example.com/v1" in http.get("/openapi/v3").json()["paths"]
    schemas = http.get("/openapi/v3/apis/example.com/v1").json()["components"]["schemas"]
    widget = schemas["com.example.v1.Widget"]
    assert widget["x-kubernetes-group-version-kind"] == [{"group": "example.com", "kind": "Widget",
                                                          "version": "v1"}]
    assert widget["properties"]["spec"]["properties"]["size"]["description"] == "How big the widget is."
    v2 = http.get("/openapi/v2").json()["definitions"]
    assert v2["com.example.v1.Widget"]["description"] == "A Widget is a thing made for tests."
