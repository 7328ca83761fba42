"""The scale subresource: autoscaling/v1 Scale read and written for workloads and custom resources.

Behaviour per https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/#replace-replace-scale-of-the-specified-deployment
(read/replace/patch `deployments/{name}/scale`) and
https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#scale-subresource
(`specReplicasPath`, `statusReplicasPath`, `labelSelectorPath`).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
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
                           "subresources": {"status": {}, "scale": {
                               "specReplicasPath": ".spec.count", "statusReplicasPath": ".status.count",
                               "labelSelectorPath": ".status.selector"}},
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "properties": {"count": {"type": "integer",
                                                                                   "maximum": 5}}},
                               "status": {"type": "object", "properties": {
                                   "count": {"type": "integer"}, "selector": {"type": "string"}}}}}}}]},
}


@pytest.fixture
def http(kubesim: Any) -> Any:
    with httpx.Client(base_url=kubesim.url) as client:
        yield client


def test_deployment_scale_reads_replicas_and_selector(http: httpx.Client) -> None:
    http.post(DEPLOYMENTS, json=DEPLOYMENT)
    scale = http.get(f"{DEPLOYMENTS}/web/scale").json()
    assert (scale["kind"], scale["apiVersion"]) == ("Scale", "autoscaling/v1")
    assert scale["spec"] == {"replicas": 2}
    assert scale["status"]["selector"] == "app=web"


def test_put_scale_changes_only_the_replicas(http: httpx.Client) -> None:
    http.post(DEPLOYMENTS, json=DEPLOYMENT)
    scale = http.get(f"{DEPLOYMENTS}/web/scale").json()
    scale["spec"]["replicas"] = 5
    response = http.put(f"{DEPLOYMENTS}/web/scale", json=scale)
    assert response.status_code == 200, response.text
    assert response.json()["spec"]["replicas"] == 5
    deployment = http.get(f"{DEPLOYMENTS}/web").json()
    assert deployment["spec"]["replicas"] == 5
    assert deployment["metadata"]["generation"] == 2


def test_patch_scale_as_kubectl_scale_does(http: httpx.Client) -> None:
    http.post(DEPLOYMENTS, json=DEPLOYMENT)
    response = http.patch(f"{DEPLOYMENTS}/web/scale", content=json.dumps({"spec": {"replicas": 0}}),
                          headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 200, response.text
    assert http.get(f"{DEPLOYMENTS}/web").json()["spec"]["replicas"] == 0


def test_scale_with_a_stale_resource_version_conflicts(http: httpx.Client) -> None:
    http.post(DEPLOYMENTS, json=DEPLOYMENT)
    scale = http.get(f"{DEPLOYMENTS}/web/scale").json()
    http.patch(f"{DEPLOYMENTS}/web", content=json.dumps({"spec": {"replicas": 3}}),
               headers={"Content-Type": "application/merge-patch+json"})
    scale["spec"]["replicas"] = 4
    assert http.put(f"{DEPLOYMENTS}/web/scale", json=scale).status_code == 409


def test_negative_replicas_are_invalid(http: httpx.Client) -> None:
    http.post(DEPLOYMENTS, json=DEPLOYMENT)
    response = http.patch(f"{DEPLOYMENTS}/web/scale", content=json.dumps({"spec": {"replicas": -1}}),
                          headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 422


def test_custom_resource_scale_follows_the_declared_paths(http: httpx.Client) -> None:
    assert http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=WIDGET_CRD).status_code == 201
    http.post(WIDGETS, json={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                             "spec": {"count": 1}})
    http.put(f"{WIDGETS}/w/status", json={**http.get(f"{WIDGETS}/w").json(),
                                          "status": {"count": 1, "selector": "app=w"}})
    scale = http.get(f"{WIDGETS}/w/scale").json()
    assert scale["spec"] == {"replicas": 1}
    assert scale["status"] == {"replicas": 1, "selector": "app=w"}
    patched = http.patch(f"{WIDGETS}/w/scale", content=json.dumps({"spec": {"replicas": 4}}),
                         headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200, patched.text
    assert http.get(f"{WIDGETS}/w").json()["spec"]["count"] == 4


def test_custom_resource_scale_is_validated_against_the_schema(http: httpx.Client) -> None:
    http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=WIDGET_CRD)
    http.post(WIDGETS, json={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                             "spec": {"count": 1}})
    response = http.patch(f"{WIDGETS}/w/scale", content=json.dumps({"spec": {"replicas": 9}}),
                          headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 422
    assert "spec.count in body should be less than or equal to 5" in response.json()["message"]
