"""Health of live objects, read as a specification.

Each fixture under fixtures/health/<kind>/<case>.yaml is one live object as a
controller writes it (status fields from the Kubernetes API reference), with the
health we expect in a top-level `expected:` block that is removed before assessing.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.health import SEVERITY, Health, HealthStatus, assess, missing, worst

FIXTURES = Path(__file__).parent / "fixtures" / "health"
FIXTURE_FILES = sorted(FIXTURES.glob("*/*.yaml"))


def load_fixture(path: Path) -> tuple[dict[str, Any], Health]:
    document = yaml.safe_load(path.read_text())
    expected = document.pop("expected")
    return document, Health(HealthStatus(expected["status"]), expected.get("message") or "")


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def test_fixture_set_covers_at_least_forty_cases() -> None:
    assert len(FIXTURE_FILES) >= 40


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=fixture_id)
def test_assess_gives_the_health_the_fixture_expects(path: Path) -> None:
    obj, expected = load_fixture(path)
    assert assess(obj) == expected


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=fixture_id)
def test_assess_leaves_the_object_unchanged(path: Path) -> None:
    obj, _ = load_fixture(path)
    before = copy.deepcopy(obj)
    assess(obj)
    assert obj == before


# --- ordering of statuses and an application's health --------------------------------


def test_severity_orders_statuses_as_argo_cd_does() -> None:
    assert list(SEVERITY) == [
        HealthStatus.Healthy,
        HealthStatus.Suspended,
        HealthStatus.Progressing,
        HealthStatus.Missing,
        HealthStatus.Degraded,
        HealthStatus.Unknown,
    ]


def test_severity_ranks_increase_from_healthy_to_unknown() -> None:
    assert [SEVERITY[status] for status in SEVERITY] == list(range(len(HealthStatus)))


def test_health_status_values_are_argo_cd_strings() -> None:
    assert [status.value for status in HealthStatus] == [
        "Healthy",
        "Suspended",
        "Progressing",
        "Missing",
        "Degraded",
        "Unknown",
    ]


def test_health_status_compares_equal_to_its_string() -> None:
    assert HealthStatus.Degraded == "Degraded"
    assert f"{HealthStatus.Degraded}" == "Degraded"


def test_worst_of_nothing_is_healthy() -> None:
    assert worst([]) == Health(HealthStatus.Healthy)


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        (HealthStatus.Healthy, HealthStatus.Suspended),
        (HealthStatus.Suspended, HealthStatus.Progressing),
        (HealthStatus.Progressing, HealthStatus.Missing),
        (HealthStatus.Missing, HealthStatus.Degraded),
        (HealthStatus.Degraded, HealthStatus.Unknown),
    ],
)
def test_worst_picks_the_more_severe_status_whatever_the_order(better: HealthStatus, worse: HealthStatus) -> None:
    pair = [Health(better, "b"), Health(worse, "w")]
    assert worst(pair) == Health(worse, "w")
    assert worst(reversed(pair)) == Health(worse, "w")


def test_worst_keeps_the_message_of_the_first_of_equally_bad_resources() -> None:
    healths = [Health(HealthStatus.Degraded, "first"), Health(HealthStatus.Degraded, "second")]
    assert worst(healths) == Health(HealthStatus.Degraded, "first")


def test_worst_accepts_a_generator() -> None:
    statuses = (Health(status) for status in (HealthStatus.Healthy, HealthStatus.Missing))
    assert worst(statuses).status is HealthStatus.Missing


def test_missing_is_the_missing_status() -> None:
    assert missing().status is HealthStatus.Missing


def test_health_round_trips_through_plain_data() -> None:
    health = Health(HealthStatus.Progressing, "Waiting to Autoscale")
    assert health.as_dict() == {"status": "Progressing", "message": "Waiting to Autoscale"}
    assert Health.from_dict(health.as_dict()) == health


def test_health_from_dict_rejects_an_unknown_status_by_name() -> None:
    with pytest.raises(ValueError, match="'Fine' is not one of"):
        Health.from_dict({"status": "Fine"})


# --- odd input never raises -------------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"kind": "Deployment"},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": None, "status": None},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": "web"},
        {"apiVersion": "apps/v1", "kind": "Deployment", "status": []},
        {"apiVersion": "v1", "kind": "Pod", "status": {"containerStatuses": ["oops"]}},
        {"apiVersion": "v1", "kind": "Pod", "status": {"containerStatuses": [{"state": "waiting"}]}},
        {"apiVersion": "batch/v1", "kind": "Job", "status": {"conditions": {"type": "Failed"}}},
        {"apiVersion": "example.com/v1", "kind": "Widget", "status": {"conditions": [{"type": "Ready", "status": 1}]}},
        {"apiVersion": 7, "kind": ["Pod"]},
    ],
    ids=lambda obj: str(obj)[:60],
)
def test_assess_never_raises_on_malformed_objects(obj: dict[str, Any]) -> None:
    assert isinstance(assess(obj), Health)


@pytest.mark.parametrize("obj", [None, [], "Deployment", 3])
def test_assess_reports_a_non_object_as_unknown(obj: Any) -> None:
    assert assess(obj).status is HealthStatus.Unknown


def test_malformed_field_message_names_the_object_and_field() -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "data", "generation": 1},
        "status": {"observedGeneration": 1, "readyReplicas": "three"},
    }
    assert assess(obj) == Health(
        HealthStatus.Unknown,
        "cannot assess health of StatefulSet data/db: status.readyReplicas: expected an integer, got a string",
    )


def test_malformed_field_message_does_not_echo_the_value() -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": 1},
        "status": {"observedGeneration": "hunter2-secret-looking-value"},
    }
    assert "hunter2" not in assess(obj).message


# --- states a real server writes only briefly, or an emulator may write ------------------


def test_namespace_in_terminating_phase_without_deletion_timestamp_is_progressing() -> None:
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "old"},
        "status": {"phase": "Terminating"},
    }
    assert assess(namespace) == Health(HealthStatus.Progressing, "Namespace is terminating")


def test_namespace_without_status_is_healthy() -> None:
    assert assess({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "new"}}).status is HealthStatus.Healthy


def test_job_with_suspend_not_yet_observed_is_suspended() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "later"}, "spec": {"suspend": True}}
    assert assess(job) == Health(HealthStatus.Suspended, "Job suspended")


def test_pod_without_status_is_progressing() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}
    assert assess(pod).status is HealthStatus.Progressing


def test_custom_resource_being_deleted_is_pending_deletion() -> None:
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "deletionTimestamp": "2024-05-04T08:00:00Z", "finalizers": ["example.com/cleanup"]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    assert assess(widget) == Health(HealthStatus.Progressing, "Pending deletion")
