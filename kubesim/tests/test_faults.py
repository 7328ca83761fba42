"""kubesim's own surface: request log, per-verb counters, fault injection and reset.

These are kubesim features, not Kubernetes ones; the injected failures imitate what
clients meet on real clusters:
- https://kubernetes.io/docs/concepts/cluster-administration/flow-control/ (429 with Retry-After
  from API Priority and Fairness)
- https://kubernetes.io/docs/reference/using-api/api-concepts/#response-status-kind (500
  InternalError / 503 ServiceUnavailable Status bodies)
"""

from __future__ import annotations

import http.client
from typing import Any

import httpx
import pytest
from kubernetes.client.rest import ApiException


def configmaps(client: Any) -> Any:
    return client.resources.get(api_version="v1", kind="ConfigMap")


def test_request_log_records_method_path_query_and_status(kubesim: Any) -> None:
    httpx.get(kubesim.url + "/api/v1/namespaces/default/configmaps?limit=5")
    entry = kubesim.api.requests()[-1]
    assert (entry["method"], entry["path"], entry["query"], entry["status"], entry["verb"]) == (
        "GET", "/api/v1/namespaces/default/configmaps", "limit=5", 200, "list")
    assert entry["duration_ms"] >= 0


def test_stats_count_each_verb(kubesim: Any, kube_client: Any) -> None:
    cms = configmaps(kube_client)
    kubesim.api.clear_log()
    cms.create(namespace="default", body={"metadata": {"name": "a"}})
    cms.get(name="a", namespace="default")
    cms.get(namespace="default")
    cms.patch(name="a", namespace="default", body={"data": {"x": "1"}}, content_type="application/merge-patch+json")
    kube_client.server_side_apply(cms, body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "b", "namespace": "default"}}, field_manager="me")
    cms.delete(name="a", namespace="default")
    list(kube_client.watch(cms, namespace="default", timeout=1))
    stats = httpx.get(kubesim.url + "/_kubesim/stats").json()
    assert {verb: stats[verb] for verb in ("create", "get", "list", "patch", "apply", "delete", "watch")} == {
        "create": 1, "get": 1, "list": 1, "patch": 1, "apply": 1, "delete": 1, "watch": 1}


def test_admin_requests_are_not_logged(kubesim: Any) -> None:
    kubesim.api.clear_log()
    httpx.get(kubesim.url + "/_kubesim/stats")
    assert httpx.get(kubesim.url + "/_kubesim/requests").json() == []


def test_clear_log_empties_log_and_counters(kubesim: Any) -> None:
    httpx.get(kubesim.url + "/version")
    assert httpx.post(kubesim.url + "/_kubesim/clear_log").status_code == 200
    assert kubesim.api.requests() == []
    assert kubesim.api.stats()["total"] == 0


def test_status_fault_answers_matching_requests(kubesim: Any, kube_client: Any) -> None:
    httpx.post(kubesim.url + "/_kubesim/faults", json=[{"path_regex": "/configmaps", "status": 503}])
    with pytest.raises(ApiException) as err:
        configmaps(kube_client).get(namespace="default")
    assert err.value.status == 503
    assert kubesim.api.requests()[-1]["status"] == 503


def test_fault_count_limits_how_often_it_fires(kubesim: Any) -> None:
    kubesim.api.add_faults([{"path_regex": "^/api/v1/namespaces$", "status": 500, "count": 2}])
    codes = [httpx.get(kubesim.url + "/api/v1/namespaces").status_code for _ in range(3)]
    assert codes == [500, 500, 200]


def test_fault_only_hits_listed_methods(kubesim: Any) -> None:
    kubesim.api.add_faults([{"path_regex": "configmaps", "methods": ["POST"], "status": 500}])
    assert httpx.get(kubesim.url + "/api/v1/namespaces/default/configmaps").status_code == 200
    assert httpx.post(kubesim.url + "/api/v1/namespaces/default/configmaps",
                      json={"metadata": {"name": "a"}}).status_code == 500


def test_fraction_zero_never_fires(kubesim: Any) -> None:
    kubesim.api.add_faults([{"path_regex": "", "status": 500, "fraction": 0}])
    assert {httpx.get(kubesim.url + "/version").status_code for _ in range(5)} == {200}


def test_throttling_fault_sets_retry_after(kubesim: Any) -> None:
    kubesim.api.add_faults([{"path_regex": "secrets", "status": 429, "retry_after": 3}])
    response = httpx.get(kubesim.url + "/api/v1/namespaces/default/secrets")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert (response.json()["reason"], response.json()["details"]) == ("TooManyRequests", {"retryAfterSeconds": 3})


def test_dropped_connection_gets_no_response(kubesim: Any) -> None:
    kubesim.api.add_faults([{"path_regex": "/version", "drop_connection": True, "count": 1}])
    conn = http.client.HTTPConnection("127.0.0.1", kubesim.port, timeout=5)
    conn.request("GET", "/version")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        conn.getresponse()
    conn.close()
    assert httpx.get(kubesim.url + "/version").status_code == 200


def test_latency_only_fault_still_serves_the_request(kubesim: Any) -> None:
    kubesim.api.add_faults([{"path_regex": "/version", "latency_ms": 5}])
    assert httpx.get(kubesim.url + "/version").status_code == 200
    assert kubesim.api.fault_rules()[0]["fired"] == 1


def test_malformed_fault_rule_is_rejected_naming_the_key(kubesim: Any) -> None:
    response = httpx.post(kubesim.url + "/_kubesim/faults", json=[{"path": "x", "status": 500}])
    assert response.status_code == 400
    assert "'path'" in response.json()["message"]


def test_clear_faults_removes_all_rules(kubesim: Any) -> None:
    kubesim.api.add_faults([{"path_regex": "", "status": 500}])
    assert httpx.delete(kubesim.url + "/_kubesim/faults").status_code == 200
    assert httpx.get(kubesim.url + "/version").status_code == 200


def test_reset_restores_a_fresh_cluster(kubesim: Any, kube_client: Any) -> None:
    kube_client.resources.get(api_version="v1", kind="Namespace").create(body={"metadata": {"name": "team"}})
    configmaps(kube_client).create(namespace="default", body={"metadata": {"name": "a"}})
    kubesim.api.add_faults([{"path_regex": "nothing-matches-this", "status": 500}])
    assert httpx.post(kubesim.url + "/_kubesim/reset").status_code == 200
    names = {n["metadata"]["name"] for n in kubesim.api.list_objects("v1", "Namespace")}
    assert names == {"default", "kube-system", "kube-public", "kube-node-lease"}
    assert kubesim.api.list_objects("v1", "ConfigMap") == []
    assert (kubesim.api.requests(), kubesim.api.fault_rules()) == ([], [])


def test_reset_withdraws_custom_resource_definitions(kubesim: Any, kube_client: Any) -> None:
    kube_client.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition").create(body={
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True}]}})
    kubesim.api.reset()
    assert httpx.get(kubesim.url + "/apis/example.com/v1").status_code == 404
