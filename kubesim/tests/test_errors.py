"""Status bodies of API errors, as kube-apiserver writes them.

Behaviour taken from:
- https://kubernetes.io/docs/reference/using-api/api-concepts/#response-status-kind (Status kind,
  status Failure, message, reason, details, code)
- https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/
- https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts (409 with
  FieldManagerConflict causes)
- k8s.io/apimachinery/pkg/api/errors (NewNotFound, NewConflict, NewInvalid, NewMethodNotSupported
  message formats) and k8s.io/apiserver fieldmanager conflict messages.
"""

from __future__ import annotations

from typing import Any

import httpx

from kubesim.errors import (
    AlreadyExists,
    ApplyConflict,
    Conflict,
    Expired,
    FieldError,
    Invalid,
    MethodNotAllowed,
    NotFound,
    TooManyRequests,
    UnsupportedMediaType,
)


def test_not_found_status_names_resource_and_omits_empty_group() -> None:
    assert NotFound("configmaps", "x").to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'configmaps "x" not found', "reason": "NotFound",
        "details": {"name": "x", "kind": "configmaps"}, "code": 404}


def test_grouped_resources_are_qualified_in_messages() -> None:
    error = AlreadyExists("deployments", "web", "apps")
    assert error.message == 'deployments.apps "web" already exists'
    assert error.details == {"name": "web", "group": "apps", "kind": "deployments"}


def test_stale_conflict_has_the_exact_kubernetes_message() -> None:
    assert Conflict.stale("configmaps", "x").message == (
        'Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your '
        "changes to the latest version and try again")


def test_apply_conflict_with_one_field() -> None:
    error = ApplyConflict([("mgr", ".spec.replicas", "apps/v1")])
    status = error.to_status()
    assert (status["code"], status["reason"]) == (409, "Conflict")
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "mgr" using apps/v1: .spec.replicas'
    assert status["details"]["causes"] == [
        {"type": "FieldManagerConflict", "message": 'conflict with "mgr" using apps/v1', "field": ".spec.replicas"}]


def test_apply_conflicts_are_grouped_by_sorted_manager() -> None:
    error = ApplyConflict([("b", ".data.y"), ("a", ".data.x"), ("a", ".data.z")])
    assert error.message == ('Apply failed with 3 conflicts: conflicts with "a":\n- .data.x\n- .data.z\n'
                             'conflicts with "b":\n- .data.y')


def test_invalid_reads_kind_name_and_field_error() -> None:
    error = Invalid("Deployment.apps", "x", [FieldError.immutable("spec.selector", {"matchLabels": {"a": "b"}})])
    assert error.code == 422
    assert error.message == ('Deployment.apps "x" is invalid: spec.selector: Invalid value: '
                             '{"matchLabels":{"a":"b"}}: field is immutable')
    assert error.details["causes"] == [{"type": "FieldValueInvalid", "field": "spec.selector",
                                        "message": 'Invalid value: {"matchLabels":{"a":"b"}}: field is immutable'}]


def test_invalid_with_several_errors_lists_them_in_brackets() -> None:
    error = Invalid("ConfigMap", "x", [("metadata.name", "Required value"),
                                       FieldError.forbidden("data", "nope")])
    assert error.message == 'ConfigMap "x" is invalid: [metadata.name: Required value, data: Forbidden: nope]'
    assert [c["type"] for c in error.details["causes"]] == ["FieldValueRequired", "FieldValueForbidden"]


def test_other_reasons_and_codes() -> None:
    assert (UnsupportedMediaType("x").code, UnsupportedMediaType("x").reason) == (415, "UnsupportedMediaType")
    assert (Expired("x").code, Expired("x").reason) == (410, "Expired")
    assert TooManyRequests(retry_after=2).details == {"retryAfterSeconds": 2}
    assert MethodNotAllowed("deletecollection", "namespaces").message == (
        'deletecollection is not supported on resources of kind "namespaces"')


def test_server_answers_errors_with_status_bodies(kubesim: Any) -> None:
    response = httpx.get(kubesim.url + "/api/v1/namespaces/default/secrets/missing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["message"] == 'secrets "missing" not found'


def test_server_reports_an_apply_conflict_between_managers(kubesim: Any) -> None:
    url = kubesim.url + "/api/v1/namespaces/default/configmaps/a?fieldManager="
    headers = {"Content-Type": "application/apply-patch+yaml"}
    body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"%s"}}'
    assert httpx.patch(url + "one", headers=headers, content=body % "1").status_code == 201
    response = httpx.patch(url + "two", headers=headers, content=body % "2")
    assert response.status_code == 409
    assert response.json()["details"]["causes"][0]["field"] == ".data.k"
    assert response.json()["message"].startswith('Apply failed with 1 conflict: conflict with "one"')


def test_force_apply_takes_over_conflicting_fields(kubesim: Any) -> None:
    url = kubesim.url + "/api/v1/namespaces/default/configmaps/a?fieldManager="
    headers = {"Content-Type": "application/apply-patch+yaml"}
    body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"%s"}}'
    httpx.patch(url + "one", headers=headers, content=body % "1")
    response = httpx.patch(url + "two&force=true", headers=headers, content=body % "2")
    assert response.status_code == 200
    assert response.json()["data"] == {"k": "2"}


def test_verb_not_served_by_a_resource_is_405(kubesim: Any) -> None:
    response = httpx.delete(kubesim.url + "/api/v1/namespaces")
    assert response.status_code == 405
    assert response.json()["reason"] == "MethodNotAllowed"


def test_malformed_json_body_is_a_bad_request(kubesim: Any) -> None:
    response = httpx.post(kubesim.url + "/api/v1/namespaces/default/configmaps", content=b"{not json",
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["reason"] == "BadRequest"


def test_body_namespace_differing_from_the_url_is_a_bad_request(kubesim: Any) -> None:
    response = httpx.post(kubesim.url + "/api/v1/namespaces/default/configmaps",
                          json={"metadata": {"name": "a", "namespace": "kube-system"}})
    assert response.status_code == 400
    assert "does not match the namespace" in response.json()["message"]


def test_patch_without_a_name_is_405(kubesim: Any) -> None:
    response = httpx.patch(kubesim.url + "/api/v1/namespaces/default/configmaps", content=b"{}",
                           headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 405
