"""A custom resource that no rule, check or conventional status can judge (issue 17).

It is Healthy with a message saying it was not assessed, and the application's health
follows its other resources: the message never becomes the application's.
"""

from __future__ import annotations

from typing import Any

from reconciler.health import Health, HealthStatus, assess, worst


def service_monitor() -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}},
    }


def test_custom_resource_without_check_or_status_says_it_was_not_assessed() -> None:
    assert assess(service_monitor()) == Health(
        HealthStatus.Healthy, "no health check exists for monitoring.coreos.com/ServiceMonitor; health not assessed"
    )


def test_custom_resource_with_an_unconventional_status_is_not_assessed_either() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "status": {"phase": "On"}}
    assert assess(widget).message == "no health check exists for example.com/Widget; health not assessed"


def test_crd_group_under_k8s_io_is_a_custom_resource() -> None:
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"}}
    assert assess(route).message.startswith("no health check exists for gateway.networking.k8s.io/HTTPRoute")


def test_built_in_kind_without_status_is_healthy_without_a_message() -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "reader"}}
    assert assess(role) == Health(HealthStatus.Healthy)


def test_app_with_an_unassessed_custom_resource_is_as_healthy_as_its_other_resources() -> None:
    unassessed = assess(service_monitor())
    progressing = Health(HealthStatus.Progressing, "Waiting for rollout to finish")
    assert worst([unassessed, progressing]) == progressing
    assert worst([unassessed, Health(HealthStatus.Healthy)]) == Health(HealthStatus.Healthy)
