"""Labels and annotations are validated as kube-apiserver validates them, with its messages.

The rules and words are apimachinery's (pkg/apis/meta/v1/validation ValidateLabels,
pkg/api/validation ValidateAnnotations, pkg/util/validation IsQualifiedName and
IsValidLabelValue); the example of an invalid label is Argo CD's own e2e fixture
(`my-label: has-inva/id-character!`). The last test shows the error as a real kubectl prints it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubesim.kubeconfig import write_kubeconfig

LABEL_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
NAME_PART_RULE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
PREFIX_RULE = (
    "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def service_account(labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "failure-during-sync", "namespace": "default"}
    if labels is not None:
        meta["labels"] = labels
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


ACCOUNTS = "/api/v1/namespaces/default/serviceaccounts"


def apply(kubesim: Any, obj: dict[str, Any], path: str = ACCOUNTS) -> httpx.Response:
    url = f"{kubesim.url}{path}/{obj['metadata']['name']}?fieldManager=test"
    return httpx.patch(url, headers={"Content-Type": "application/apply-patch+yaml"}, content=json.dumps(obj))


def create(kubesim: Any, obj: dict[str, Any], path: str = ACCOUNTS) -> httpx.Response:
    return httpx.post(f"{kubesim.url}{path}", json=obj)


def test_a_label_value_with_a_slash_is_refused_with_the_api_servers_message(kubesim: Any) -> None:
    response = apply(kubesim, service_account({"my-label": "has-inva/id-character!"}))
    assert response.status_code == 422
    body = response.json()
    assert body["reason"] == "Invalid"
    assert body["message"] == (
        'ServiceAccount "failure-during-sync" is invalid: metadata.labels: Invalid value: '
        f'"has-inva/id-character!": {LABEL_VALUE_RULE}'
    )
    assert body["details"]["causes"] == [
        {"type": "FieldValueInvalid", "message": f'Invalid value: "has-inva/id-character!": {LABEL_VALUE_RULE}',
         "field": "metadata.labels"}
    ]


def test_a_label_key_is_a_qualified_name_with_an_optional_dns_subdomain_prefix(kubesim: Any) -> None:
    response = create(kubesim, service_account({"Example.com/ok": "v", "-bad": "v"}))
    assert response.status_code == 422
    message = response.json()["message"]
    assert message == (
        'ServiceAccount "failure-during-sync" is invalid: [metadata.labels: Invalid value: "-bad": '
        f'{NAME_PART_RULE}, metadata.labels: Invalid value: "Example.com/ok": {PREFIX_RULE}]'
    )


def test_label_keys_and_values_have_their_length_limits(kubesim: Any) -> None:
    assert apply(kubesim, service_account({"a" * 63: "b" * 63, ("p." * 100) + "x/k": ""})).status_code == 201
    response = apply(kubesim, service_account({"k": "v" * 64}))
    assert response.status_code == 422
    assert response.json()["message"] == (
        'ServiceAccount "failure-during-sync" is invalid: metadata.labels: Invalid value: '
        f'"{"v" * 64}": must be no more than 63 characters'
    )
    too_long_name = apply(kubesim, service_account({"n" * 64: "v"}))
    assert "name part must be no more than 63 characters" in too_long_name.json()["message"]
    too_many_parts = apply(kubesim, service_account({"a/b/c": "v"}))
    assert "a qualified name must consist of alphanumeric characters" in too_many_parts.json()["message"]
    assert "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')" in (
        too_many_parts.json()["message"])


def test_annotation_keys_are_qualified_names_in_any_case_and_values_are_free(kubesim: Any) -> None:
    free = {"Example.COM/Mixed_Case": "anything / at all !", "note": ""}
    assert apply(kubesim, service_account(annotations=free)).status_code == 201
    response = apply(kubesim, service_account(annotations={"bad key": "v"}))
    assert response.status_code == 422
    assert response.json()["message"] == (
        'ServiceAccount "failure-during-sync" is invalid: metadata.annotations: Invalid value: "bad key": '
        f'{NAME_PART_RULE}'
    )


def test_annotations_may_hold_at_most_256_kib_in_total(kubesim: Any) -> None:
    half = 128 * 1024
    assert apply(kubesim, service_account(annotations={"a": "x" * (half - 1), "b": "y" * (half - 1)})).status_code \
        == 201
    response = apply(kubesim, service_account(annotations={"a": "x" * half, "b": "y" * half}))
    assert response.status_code == 422
    assert response.json()["message"] == (
        'ServiceAccount "failure-during-sync" is invalid: metadata.annotations: Too long: must have at most '
        "262144 bytes"
    )


def test_a_pod_templates_labels_are_validated_too(kubesim: Any) -> None:
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web", "tier": "front end"}},
                         "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}},
        },
    }
    response = apply(kubesim, deployment, "/apis/apps/v1/namespaces/default/deployments")
    assert response.status_code == 422
    assert response.json()["message"] == (
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: "front end": '
        f'{LABEL_VALUE_RULE}'
    )


def test_a_custom_resources_labels_are_validated(kubesim: Any) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                     "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
    }
    assert create(kubesim, crd, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions").status_code == 201
    widget = {"apiVersion": "example.com/v1", "kind": "Widget",
              "metadata": {"name": "w", "namespace": "default", "labels": {"size": "x!"}}}
    response = apply(kubesim, widget, "/apis/example.com/v1/namespaces/default/widgets")
    assert response.status_code == 422
    assert response.json()["message"] == (
        f'Widget.example.com "w" is invalid: metadata.labels: Invalid value: "x!": {LABEL_VALUE_RULE}'
    )


def test_an_invalid_object_in_a_missing_namespace_is_not_found_first(kubesim: Any) -> None:
    # NamespaceLifecycle is a mutating admission plugin (Admit): it answers before validation runs.
    obj = service_account({"my-label": "has-inva/id-character!"})
    obj["metadata"]["namespace"] = "nowhere"
    response = apply(kubesim, obj, "/api/v1/namespaces/nowhere/serviceaccounts")
    assert response.status_code == 404
    assert response.json()["message"] == 'namespaces "nowhere" not found'


KUBECTL = os.environ.get("KUBECTL") or shutil.which("kubectl")


@pytest.mark.skipif(KUBECTL is None, reason="no kubectl: set KUBECTL or put kubectl on PATH")
def test_kubectl_prints_the_invalid_label_as_the_api_server_words_it(kubesim: Any, tmp_path: Path) -> None:
    assert KUBECTL is not None
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", kubesim.url)
    manifest = (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: failure-during-sync\n  namespace: default\n"
        "  labels:\n    my-label: has-inva/id-character!\n"
    )
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path)}
    for extra in ([], ["--server-side"]):
        result = subprocess.run([KUBECTL, f"--cache-dir={tmp_path / 'cache'}", "apply", *extra, "-f", "-"],
                                input=manifest, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 1, result.stdout
        assert (
            'The ServiceAccount "failure-during-sync" is invalid: metadata.labels: Invalid value: '
            f'"has-inva/id-character!": {LABEL_VALUE_RULE}'
        ) in result.stderr, result.stderr
