"""kubesim discovery, driven through the official DynamicClient and plain HTTP.

Behaviour taken from:
- https://kubernetes.io/docs/concepts/overview/kubernetes-api/ (API groups, /api, /apis)
- https://kubernetes.io/docs/reference/using-api/api-concepts/#discovery-api (APIGroupList,
  APIResourceList, preferredVersion, subresources named `deployments/status`)
- https://kubernetes.io/docs/reference/using-api/#api-groups (core group at /api/v1)
- `kubectl api-resources` on v1.31 for names, short names, scopes and verbs.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest


def get_json(sim: Any, path: str) -> Any:
    response = httpx.get(sim.url + path)
    assert response.status_code == 200, response.text
    return response.json()


def resource_entry(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in doc["resources"] if r["name"] == name)


def test_version_reports_git_version(kubesim: Any) -> None:
    assert get_json(kubesim, "/version")["gitVersion"] == "v1.31.0"


def test_core_api_lists_v1(kubesim: Any) -> None:
    doc = get_json(kubesim, "/api")
    assert doc["kind"] == "APIVersions"
    assert doc["versions"] == ["v1"]


def test_every_group_prefers_one_of_its_versions(kubesim: Any) -> None:
    doc = get_json(kubesim, "/apis")
    assert doc["kind"] == "APIGroupList"
    for group in doc["groups"]:
        assert group["preferredVersion"] in group["versions"], group["name"]


def test_autoscaling_serves_v2_and_v1_preferring_v2(kubesim: Any) -> None:
    group = next(g for g in get_json(kubesim, "/apis")["groups"] if g["name"] == "autoscaling")
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]
    assert group["preferredVersion"] == {"groupVersion": "autoscaling/v2", "version": "v2"}


def test_core_resources_carry_scope_kind_and_short_names(kubesim: Any) -> None:
    doc = get_json(kubesim, "/api/v1")
    configmaps = resource_entry(doc, "configmaps")
    assert configmaps == {"name": "configmaps", "singularName": "configmap", "namespaced": True,
                          "kind": "ConfigMap", "verbs": ["create", "delete", "deletecollection", "get", "list",
                                                         "patch", "update", "watch"], "shortNames": ["cm"]}
    assert resource_entry(doc, "namespaces")["namespaced"] is False
    assert "deletecollection" not in resource_entry(doc, "namespaces")["verbs"]
    assert resource_entry(doc, "pods/status")["kind"] == "Pod"


def test_deployments_have_status_and_scale_subresources(kubesim: Any) -> None:
    doc = get_json(kubesim, "/apis/apps/v1")
    assert resource_entry(doc, "deployments")["shortNames"] == ["deploy"]
    assert resource_entry(doc, "deployments/status")["verbs"] == ["get", "patch", "update"]
    scale = resource_entry(doc, "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")


@pytest.mark.parametrize(("api_version", "kind", "namespaced"), [
    ("v1", "Secret", True), ("v1", "PersistentVolume", False), ("v1", "Node", False),
    ("apps/v1", "StatefulSet", True), ("apps/v1", "ControllerRevision", True),
    ("batch/v1", "CronJob", True), ("networking.k8s.io/v1", "IngressClass", False),
    ("networking.k8s.io/v1", "NetworkPolicy", True), ("rbac.authorization.k8s.io/v1", "ClusterRole", False),
    ("policy/v1", "PodDisruptionBudget", True), ("autoscaling/v1", "HorizontalPodAutoscaler", True),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition", False), ("coordination.k8s.io/v1", "Lease", True),
    ("storage.k8s.io/v1", "StorageClass", False),
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", False),
    ("apiregistration.k8s.io/v1", "APIService", False),
])
def test_dynamic_client_finds_built_in_kind(kube_client: Any, api_version: str, kind: str,
                                           namespaced: bool) -> None:
    resource = kube_client.resources.get(api_version=api_version, kind=kind)
    assert resource.namespaced is namespaced


def test_monitoring_coreos_com_is_not_built_in(kubesim: Any) -> None:
    groups = {g["name"] for g in get_json(kubesim, "/apis")["groups"]}
    assert "monitoring.coreos.com" not in groups
    assert httpx.get(kubesim.url + "/apis/monitoring.coreos.com/v1").status_code == 404


def test_responses_are_exactly_application_json(kubesim: Any) -> None:
    for path in ("/version", "/apis", "/api/v1/namespaces", "/api/v1/namespaces/nope"):
        assert httpx.get(kubesim.url + path).headers["content-type"] == "application/json"


def test_unknown_path_is_a_not_found_status(kubesim: Any) -> None:
    response = httpx.get(kubesim.url + "/apis/apps/v1/widgets")
    assert response.status_code == 404
    assert response.json()["reason"] == "NotFound"
    assert response.json()["message"] == "the server could not find the requested resource"


def test_keep_alive_client_reuses_one_connection(kubesim: Any) -> None:
    with httpx.Client(base_url=kubesim.url) as client:
        first = client.get("/version")
        second = client.get("/api/v1/namespaces/default")
    assert first.http_version == "HTTP/1.1"
    assert second.status_code == 200
    assert first.headers.get("connection", "").lower() != "close"


def test_python_m_kubesim_prints_its_url_and_serves() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "kubesim", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(url + "/version").json()["gitVersion"] == "v1.31.0"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
