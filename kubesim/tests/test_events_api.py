"""Events through core/v1 and events.k8s.io/v1: one storage, two shapes.

Behaviour taken from https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/
(events.k8s.io/v1: regarding, note, reportingController, deprecatedCount; "the deprecated*
fields are the core/v1 fields"): the API server stores both as one object (pkg/registry/core/event)
and converts field names and field selectors between them (pkg/apis/events/v1 conversion).
"""

from __future__ import annotations

import json

import httpx

from kubesim import KubeSim

CORE = "/api/v1/namespaces/default/events"
V1 = "/apis/events.k8s.io/v1/namespaces/default/events"


def core_event(name: str, pod: str = "p") -> dict[str, object]:
    return {"metadata": {"name": name}, "involvedObject": {"kind": "Pod", "name": pod, "namespace": "default"},
            "reason": "Started", "message": "Started container app", "type": "Normal", "count": 2,
            "source": {"component": "kubelet"}, "reportingComponent": "kubelet"}


def test_core_event_reads_through_events_k8s_io_with_its_field_names(kubesim: KubeSim) -> None:
    httpx.post(kubesim.url + CORE, json=core_event("e"))

    event = httpx.get(f"{kubesim.url}{V1}/e").json()

    assert event["apiVersion"] == "events.k8s.io/v1"
    assert event["regarding"]["name"] == "p"
    assert (event["note"], event["deprecatedCount"], event["reportingController"]) == (
        "Started container app", 2, "kubelet")
    assert "involvedObject" not in event and "message" not in event


def test_event_created_through_events_k8s_io_reads_through_core(kubesim: KubeSim) -> None:
    body = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "n"},
            "regarding": {"kind": "Pod", "name": "q", "namespace": "default"}, "reason": "Pulled",
            "note": "pulled", "type": "Normal", "action": "Pull", "reportingController": "kubelet",
            "reportingInstance": "node", "eventTime": "2026-01-01T00:00:00.000000Z"}

    created = httpx.post(kubesim.url + V1, json=body)
    core = httpx.get(f"{kubesim.url}{CORE}/n").json()

    assert created.status_code == 201
    assert (core["involvedObject"]["name"], core["message"], core["reportingComponent"]) == ("q", "pulled", "kubelet")


def test_events_k8s_io_field_selector_on_regarding(kubesim: KubeSim) -> None:
    httpx.post(kubesim.url + CORE, json=core_event("a", pod="p1"))
    httpx.post(kubesim.url + CORE, json=core_event("b", pod="p2"))

    listed = httpx.get(kubesim.url + V1, params={"fieldSelector": "regarding.name=p2"}).json()

    assert listed["kind"] == "EventList"
    assert [item["metadata"]["name"] for item in listed["items"]] == ["b"]


def test_events_k8s_io_watch_sees_core_writes_in_its_shape(kubesim: KubeSim) -> None:
    rv = httpx.post(kubesim.url + CORE, json=core_event("a")).json()["metadata"]["resourceVersion"]
    httpx.patch(f"{kubesim.url}{CORE}/a", json={"count": 3}, headers={"Content-Type": "application/merge-patch+json"})

    with httpx.stream("GET", kubesim.url + V1, params={"watch": "true", "resourceVersion": rv,
                                                       "timeoutSeconds": "1"}) as stream:
        events = [json.loads(line) for line in stream.iter_lines() if line]

    assert [(e["type"], e["object"]["deprecatedCount"]) for e in events] == [("MODIFIED", 3)]


def test_merge_patch_through_events_k8s_io_uses_its_field_names(kubesim: KubeSim) -> None:
    httpx.post(kubesim.url + CORE, json=core_event("a"))

    patched = httpx.patch(f"{kubesim.url}{V1}/a", json={"note": "changed"},
                          headers={"Content-Type": "application/merge-patch+json"})

    assert patched.json()["note"] == "changed"
    assert httpx.get(f"{kubesim.url}{CORE}/a").json()["message"] == "changed"
