"""Server-side apply end to end: the official DynamicClient against kubesim over HTTP.

Behaviour per https://kubernetes.io/docs/reference/using-api/server-side-apply/.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from kubernetes.dynamic.exceptions import ConflictError, UnprocessibleEntityError


def deployment(replicas: int = 2, image: str = "nginx:1.25") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": image}]}},
        },
    }


def message_of(error: Any) -> str:
    """The Status message of a client error (the body is bytes or str across client versions)."""
    body = error.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return str(json.loads(text)["message"])


@pytest.fixture
def deployments(kube_client: Any) -> Any:
    return kube_client.resources.get(api_version="apps/v1", kind="Deployment")


def apply(resource: Any, body: dict[str, Any], manager: str = "argo", force: bool = False) -> dict[str, Any]:
    result = resource.server_side_apply(body=body, name=body["metadata"]["name"],
                                        namespace=body["metadata"].get("namespace"),
                                        field_manager=manager, force_conflicts=force)
    return result.to_dict()


def test_apply_creates_a_missing_object_with_an_apply_entry(deployments: Any) -> None:
    created = apply(deployments, deployment())
    assert created["metadata"]["uid"]
    entries = created["metadata"]["managedFields"]
    assert [(e["manager"], e["operation"]) for e in entries] == [("argo", "Apply")]


def test_apply_result_carries_server_defaults(deployments: Any) -> None:
    created = apply(deployments, deployment())
    assert created["spec"]["progressDeadlineSeconds"] == 600
    assert created["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"


def test_reapplying_the_same_config_keeps_the_resource_version(deployments: Any) -> None:
    first = apply(deployments, deployment())
    again = apply(deployments, deployment())
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert again["metadata"]["managedFields"] == first["metadata"]["managedFields"]


def test_apply_change_moves_the_resource_version(deployments: Any) -> None:
    first = apply(deployments, deployment())
    changed = apply(deployments, deployment(replicas=3))
    assert changed["spec"]["replicas"] == 3
    assert changed["metadata"]["resourceVersion"] != first["metadata"]["resourceVersion"]


def test_apply_conflict_is_409_naming_the_other_manager_and_field(deployments: Any) -> None:
    apply(deployments, deployment())
    with pytest.raises(ConflictError) as caught:
        apply(deployments, deployment(replicas=7), manager="other")
    assert "Apply failed with 1 conflict" in message_of(caught.value)
    assert ".spec.replicas" in message_of(caught.value)


def test_forced_apply_takes_over_the_field(deployments: Any) -> None:
    apply(deployments, deployment())
    taken = apply(deployments, deployment(replicas=7), manager="other", force=True)
    assert taken["spec"]["replicas"] == 7
    other = next(e for e in taken["metadata"]["managedFields"] if e["manager"] == "other")
    assert "f:replicas" in other["fieldsV1"]["f:spec"]


def test_a_field_dropped_from_the_config_is_removed_from_the_object(deployments: Any) -> None:
    with_label = deployment()
    with_label["metadata"]["labels"]["tier"] = "frontend"
    apply(deployments, with_label)
    result = apply(deployments, deployment())
    assert result["metadata"]["labels"] == {"app": "web"}


def test_strategic_patch_then_apply_conflicts_with_the_patching_manager(deployments: Any) -> None:
    apply(deployments, deployment())
    deployments.patch(name="web", namespace="default", body={"spec": {"replicas": 5}}, field_manager="kubectl")
    with pytest.raises(ConflictError):
        apply(deployments, deployment(replicas=2))


def test_apply_of_an_invalid_object_is_422(deployments: Any) -> None:
    body = deployment()
    body["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(UnprocessibleEntityError) as caught:
        apply(deployments, body)
    assert "`selector` does not match template `labels`" in message_of(caught.value)


def test_changing_a_deployment_selector_by_apply_is_422_immutable(deployments: Any) -> None:
    apply(deployments, deployment())
    body = copy.deepcopy(deployment())
    body["spec"]["selector"] = {"matchLabels": {"app": "web", "v": "2"}}
    body["spec"]["template"]["metadata"]["labels"]["v"] = "2"
    with pytest.raises(UnprocessibleEntityError) as caught:
        apply(deployments, body)
    assert "field is immutable" in message_of(caught.value)


def test_service_apply_gets_a_cluster_ip_that_survives_reapply(kube_client: Any) -> None:
    services = kube_client.resources.get(api_version="v1", kind="Service")
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    first = apply(services, body)
    again = apply(services, body)
    assert first["spec"]["clusterIP"] and again["spec"]["clusterIP"] == first["spec"]["clusterIP"]
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
