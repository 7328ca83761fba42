"""Server-side printing: `as=Table` answers a meta.k8s.io Table with kubectl's columns.

Behaviour per https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables
(`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`, `includeObject`), the columns of
`kubectl get` shown in https://kubernetes.io/docs/reference/kubectl/generated/kubectl_get/ and
https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#additional-printer-columns.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

TABLE_V1 = "application/json;as=Table;g=meta.k8s.io;v=v1"
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}},
}
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "additionalPrinterColumns": [
                               {"name": "Size", "type": "string", "jsonPath": ".spec.size"},
                               {"name": "Ready", "type": "string",
                                "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
                               {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]},
}


@pytest.fixture
def http(kubesim: Any) -> Any:
    with httpx.Client(base_url=kubesim.url) as client:
        yield client


def names(table: dict[str, Any]) -> list[str]:
    return [c["name"] for c in table["columnDefinitions"]]


def test_deployment_table_has_kubectls_columns_and_cells(http: httpx.Client) -> None:
    http.post("/apis/apps/v1/namespaces/default/deployments", json=DEPLOYMENT)
    table = http.get("/apis/apps/v1/namespaces/default/deployments", headers={"Accept": TABLE_V1}).json()
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert names(table) == ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]
    assert [c["priority"] for c in table["columnDefinitions"]] == [0, 0, 0, 0, 0, 1, 1, 1]
    cells = table["rows"][0]["cells"]
    assert cells[:4] == ["web", "0/2", 0, 0]
    assert cells[5:] == ["web", "nginx:1.25", "app=web"]


def test_rows_carry_partial_object_metadata_by_default(http: httpx.Client) -> None:
    http.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "c"}, "data": {"a": "1"}})
    table = http.get("/api/v1/namespaces/default/configmaps/c", headers={"Accept": TABLE_V1}).json()
    assert names(table) == ["Name", "Data", "Age"]
    row = table["rows"][0]
    assert row["cells"][:2] == ["c", 1]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["name"] == "c"


def test_include_object_object_and_none(http: httpx.Client) -> None:
    http.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "c"}, "data": {"a": "1"}})
    full = http.get("/api/v1/namespaces/default/configmaps?includeObject=Object",
                    headers={"Accept": TABLE_V1}).json()
    assert full["rows"][0]["object"]["data"] == {"a": "1"}
    assert full["rows"][0]["object"]["kind"] == "ConfigMap"
    bare = http.get("/api/v1/namespaces/default/configmaps?includeObject=None", headers={"Accept": TABLE_V1}).json()
    assert "object" not in bare["rows"][0]


def test_v1beta1_is_answered_when_asked_for(http: httpx.Client) -> None:
    table = http.get("/api/v1/namespaces", headers={"Accept": "application/json;as=Table;g=meta.k8s.io;v=v1beta1"})
    assert table.json()["apiVersion"] == "meta.k8s.io/v1beta1"


def test_plain_json_is_still_served_without_the_table_parameter(http: httpx.Client) -> None:
    assert http.get("/api/v1/namespaces").json()["kind"] == "NamespaceList"


def test_service_columns(http: httpx.Client) -> None:
    http.post("/api/v1/namespaces/default/services",
              json={"metadata": {"name": "s"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    table = http.get("/api/v1/namespaces/default/services/s", headers={"Accept": TABLE_V1}).json()
    assert names(table) == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"]
    cells = table["rows"][0]["cells"]
    assert cells[1] == "ClusterIP"
    assert cells[3:5] == ["<none>", "80/TCP"]


def test_custom_resources_use_additional_printer_columns(http: httpx.Client) -> None:
    assert http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=WIDGET_CRD).status_code == 201
    http.post("/apis/example.com/v1/namespaces/default/widgets",
              json={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                    "spec": {"size": "small"},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    table = http.get("/apis/example.com/v1/namespaces/default/widgets", headers={"Accept": TABLE_V1}).json()
    assert names(table) == ["Name", "Size", "Ready", "Age"]
    cells = table["rows"][0]["cells"]
    assert cells[:3] == ["w", "small", "True"]
    assert cells[3].endswith("s")  # a date column prints as an age


def test_kinds_without_printers_get_name_and_created_at(http: httpx.Client) -> None:
    http.post("/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
              json={"metadata": {"name": "r"}, "rules": []})
    table = http.get("/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", headers={"Accept": TABLE_V1})
    assert names(table.json()) == ["Name", "Created At"]
    assert table.json()["rows"][0]["cells"][0] == "r"


def test_a_watch_as_table_sends_one_row_tables_with_headers_only_first(http: httpx.Client) -> None:
    for name in ("a", "b"):
        http.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": name}})
    response = http.get("/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1",
                        headers={"Accept": TABLE_V1})
    events = [json.loads(line) for line in response.text.splitlines() if line]
    assert [e["type"] for e in events] == ["ADDED", "ADDED"]
    first, second = (e["object"] for e in events)
    assert first["kind"] == "Table"
    assert names(first) == ["Name", "Data", "Age"]
    assert second["columnDefinitions"] == []
    assert [first["rows"][0]["cells"][0], second["rows"][0]["cells"][0]] == ["a", "b"]
