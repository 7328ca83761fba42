"""Unknown fields under fieldValidation=Strict|Warn|Ignore, and server-side apply of undeclared fields.

Behaviour per https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation:
Strict fails with BadRequest naming every unknown field; Warn (the default when the parameter
is absent) succeeds with one `Warning` header per unknown field; Ignore drops them silently;
in every case an unknown field is never persisted. Server-side apply builds a typed object
from the applied configuration and fails on a field the schema does not declare
(https://kubernetes.io/docs/reference/using-api/server-side-apply/).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


def deployment(**spec_extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}},
                 **spec_extra},
    }


@pytest.fixture
def http(kubesim: Any) -> Any:
    with httpx.Client(base_url=kubesim.url) as client:
        yield client


def test_strict_create_refuses_an_unknown_field_with_the_decoder_message(http: httpx.Client) -> None:
    response = http.post(f"{DEPLOYMENTS}?fieldValidation=Strict", json=deployment(replicaz=3))
    assert response.status_code == 400
    status = response.json()
    assert status["reason"] == "BadRequest"
    assert status["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: '
                                 'strict decoding error: unknown field "spec.replicaz"')
    assert http.get(f"{DEPLOYMENTS}/web").status_code == 404


def test_strict_names_every_unknown_field_including_nested_list_items(http: httpx.Client) -> None:
    body = deployment(replicaz=3)
    body["spec"]["template"]["spec"]["containers"][0]["imagez"] = "x"
    message = http.post(f"{DEPLOYMENTS}?fieldValidation=Strict", json=body).json()["message"]
    assert 'unknown field "spec.replicaz"' in message
    assert 'unknown field "spec.template.spec.containers[0].imagez"' in message


def test_warn_accepts_drops_the_field_and_sends_a_warning_header(http: httpx.Client) -> None:
    response = http.post(f"{DEPLOYMENTS}?fieldValidation=Warn", json=deployment(replicaz=3))
    assert response.status_code == 201
    assert response.headers.get_list("warning") == ['299 - "unknown field \\"spec.replicaz\\""']
    assert "replicaz" not in http.get(f"{DEPLOYMENTS}/web").json()["spec"]


def test_without_the_parameter_the_server_warns(http: httpx.Client) -> None:
    response = http.post(DEPLOYMENTS, json=deployment(replicaz=3))
    assert response.status_code == 201
    assert len(response.headers.get_list("warning")) == 1


def test_ignore_drops_unknown_fields_silently(http: httpx.Client) -> None:
    response = http.post(f"{DEPLOYMENTS}?fieldValidation=Ignore", json=deployment(replicaz=3))
    assert response.status_code == 201
    assert "warning" not in response.headers
    assert "replicaz" not in response.json()["spec"]


def test_an_unknown_directive_is_invalid_options(http: httpx.Client) -> None:
    response = http.post(f"{DEPLOYMENTS}?fieldValidation=Loose", json=deployment())
    assert response.status_code == 422
    assert response.json()["message"].startswith('CreateOptions.meta.k8s.io "" is invalid: fieldValidation: '
                                                  'Unsupported value: "Loose"')


def test_strict_update_refuses_an_unknown_field(http: httpx.Client) -> None:
    live = http.post(DEPLOYMENTS, json=deployment()).json()
    live["spec"]["replicaz"] = 1
    response = http.put(f"{DEPLOYMENTS}/web?fieldValidation=Strict", json=live)
    assert response.status_code == 400
    assert response.json()["message"].endswith('strict decoding error: unknown field "spec.replicaz"')


def test_strict_merge_patch_refuses_an_unknown_field(http: httpx.Client) -> None:
    http.post(DEPLOYMENTS, json=deployment())
    response = http.patch(f"{DEPLOYMENTS}/web?fieldValidation=Strict", content=json.dumps({"spec": {"replicaz": 1}}),
                          headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 400
    assert response.json()["message"] == 'strict decoding error: unknown field "spec.replicaz"'


def test_warn_strategic_patch_is_applied_without_the_unknown_field(http: httpx.Client) -> None:
    http.post(DEPLOYMENTS, json=deployment())
    response = http.patch(f"{DEPLOYMENTS}/web", content=json.dumps({"spec": {"replicas": 5, "replicaz": 1}}),
                          headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert response.status_code == 200
    assert response.json()["spec"]["replicas"] == 5
    assert "replicaz" not in response.json()["spec"]
    assert response.headers.get_list("warning") == ['299 - "unknown field \\"spec.replicaz\\""']


def test_server_side_apply_refuses_a_field_not_declared_in_schema(http: httpx.Client) -> None:
    response = http.patch(f"{DEPLOYMENTS}/web?fieldManager=argo&fieldValidation=Ignore",
                          content=json.dumps(deployment(replicaz=3)),
                          headers={"Content-Type": "application/apply-patch+yaml"})
    assert response.status_code == 500
    assert "reason" not in response.json()  # a plain Go error on 1.31, not a typed Status
    assert response.json()["message"] == ("failed to create typed patch object (default/web; apps/v1, "
                                          "Kind=Deployment): .spec.replicaz: field not declared in schema")
    assert http.get(f"{DEPLOYMENTS}/web").status_code == 404


def test_server_side_apply_names_keyed_list_items_by_their_key(http: httpx.Client) -> None:
    body = deployment()
    body["spec"]["template"]["spec"]["containers"][0]["imagez"] = "x"
    response = http.patch(f"{DEPLOYMENTS}/web?fieldManager=argo", content=json.dumps(body),
                          headers={"Content-Type": "application/apply-patch+yaml"})
    assert '.spec.template.spec.containers[name="web"].imagez: field not declared in schema' in \
        response.json()["message"]


def test_free_form_fields_are_not_unknown(http: httpx.Client) -> None:
    """Labels, annotations and ConfigMap data are maps: any key is declared."""
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "labels": {"any-key": "v"}, "annotations": {"x/y": "z"}},
            "data": {"whatever": "1"}}
    response = http.post("/api/v1/namespaces/default/configmaps?fieldValidation=Strict", json=body)
    assert response.status_code == 201, response.text


def duplicated_replicas_body() -> str:
    text = json.dumps(deployment())
    return text.replace('"replicas": 2', '"replicas": 2, "replicas": 3', 1)


def test_strict_refuses_a_duplicated_field(http: httpx.Client) -> None:
    response = http.post(f"{DEPLOYMENTS}?fieldValidation=Strict", content=duplicated_replicas_body(),
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["message"].endswith('strict decoding error: duplicate field "spec.replicas"')


def test_warn_keeps_the_last_duplicate_and_warns(http: httpx.Client) -> None:
    response = http.post(DEPLOYMENTS, content=duplicated_replicas_body(), headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    assert response.json()["spec"]["replicas"] == 3
    assert response.headers.get_list("warning") == ['299 - "duplicate field \\"spec.replicas\\""']


def test_a_value_of_the_wrong_type_is_refused_by_the_decoder_whatever_the_directive(http: httpx.Client) -> None:
    """A built-in object is decoded into Go structs: `value: 1` for an env var fails the request."""
    body = deployment()
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "DEBUG", "value": 1}]
    response = http.post(f"{DEPLOYMENTS}?fieldValidation=Ignore", json=body)
    assert response.status_code == 400
    assert response.json()["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal number into Go struct '
        "field EnvVar.spec.template.spec.containers.env.value of type string")


def test_a_list_item_of_the_wrong_type_names_the_item_type(http: httpx.Client) -> None:
    body = deployment()
    body["spec"]["template"]["spec"]["imagePullSecrets"] = ["registry"]
    message = http.post(DEPLOYMENTS, json=body).json()["message"]
    assert message.endswith("json: cannot unmarshal string into Go struct field PodSpec.spec.template.spec."
                            "imagePullSecrets of type v1.LocalObjectReference")


def test_a_quoted_number_in_an_integer_field_is_refused_on_patch_too(http: httpx.Client) -> None:
    http.post(DEPLOYMENTS, json=deployment())
    response = http.patch(f"{DEPLOYMENTS}/web", content=json.dumps({"spec": {"replicas": "3"}}),
                          headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 400
    assert response.json()["message"] == ("json: cannot unmarshal string into Go struct field DeploymentSpec."
                                          "spec.replicas of type int32")


def test_quantities_and_int_or_string_take_numbers(http: httpx.Client) -> None:
    body = deployment(strategy={"rollingUpdate": {"maxSurge": 1}})
    body["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": 1}}
    assert http.post(f"{DEPLOYMENTS}?fieldValidation=Strict", json=body).status_code == 201


def test_server_side_apply_refuses_a_mistyped_value(http: httpx.Client) -> None:
    body = deployment()
    body["spec"]["replicas"] = "3"
    response = http.patch(f"{DEPLOYMENTS}/web?fieldManager=argo", content=json.dumps(body),
                          headers={"Content-Type": "application/apply-patch+yaml"})
    assert response.status_code == 500
    assert response.json()["message"] == ("failed to create typed patch object (default/web; apps/v1, "
                                          "Kind=Deployment): .spec.replicas: expected numeric (int or float), "
                                          "got string")
