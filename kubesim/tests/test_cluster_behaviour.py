"""What a fresh cluster holds and what its controllers do beyond workloads, over raw HTTP.

Behaviour taken from:
- https://kubernetes.io/docs/concepts/services-networking/service/ and the apiserver's
  bootstrap controller: the `kubernetes` Service and Endpoints in `default`;
- https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/#automatic-labelling
  (`kubernetes.io/metadata.name` on every namespace);
- https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
  (a CRD is served once Established; deleting it deletes its custom resources);
- https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination (deletionTimestamp
  and deletionGracePeriodSeconds, then removal; grace 0 removes at once);
- https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/ (Events with
  involvedObject, reason, count);
- https://kubernetes.io/docs/concepts/services-networking/ingress/ (status.loadBalancer.ingress).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from kubesim import KubeSim

CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WAIT_SECONDS = 10.0


@pytest.fixture
def live() -> Iterator[KubeSim]:
    with KubeSim(controllers=True, ready_delay=0.1, crd_establish_delay=0.3, termination_grace_scale=0.02) as sim:
        yield sim


def eventually(read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    return value


def crd(plural: str = "widgets", kind: str = "Widget", group: str = "example.com",
        singular: str = "") -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Namespaced", "names": {"plural": plural, "kind": kind,
                                                                      "singular": singular or kind.lower()},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                         "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}


def conditions(obj: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or []}


def test_system_namespaces_carry_the_metadata_name_label(kubesim: KubeSim) -> None:
    items = httpx.get(kubesim.url + "/api/v1/namespaces").json()["items"]

    labels = {ns["metadata"]["name"]: ns["metadata"]["labels"]["kubernetes.io/metadata.name"] for ns in items}
    assert labels == {n: n for n in ("default", "kube-node-lease", "kube-public", "kube-system")}


def test_created_namespace_gets_the_metadata_name_label(kubesim: KubeSim) -> None:
    created = httpx.post(kubesim.url + "/api/v1/namespaces", json={"metadata": {"name": "team-a"}}).json()

    assert created["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}


def test_kubernetes_service_and_endpoints_exist_in_default(kubesim: KubeSim) -> None:
    service = httpx.get(kubesim.url + "/api/v1/namespaces/default/services/kubernetes").json()
    endpoints = httpx.get(kubesim.url + "/api/v1/namespaces/default/endpoints/kubernetes").json()

    assert service["spec"]["ports"][0]["port"] == 443
    assert endpoints["subsets"][0]["ports"][0]["name"] == "https"


def test_a_ready_node_exists(kubesim: KubeSim) -> None:
    [node] = httpx.get(kubesim.url + "/api/v1/nodes").json()["items"]

    assert conditions(node)["Ready"] == "True"


def test_crd_without_controllers_is_established_at_once(kubesim: KubeSim) -> None:
    created = httpx.post(kubesim.url + CRD, json=crd()).json()

    assert conditions(created) == {"NamesAccepted": "True", "Established": "True"}
    assert httpx.get(kubesim.url + "/apis/example.com/v1/namespaces/default/widgets").status_code == 200


def test_crd_with_controllers_is_served_only_once_established() -> None:
    with KubeSim(controllers=True, crd_establish_delay=2.0) as live:  # 2 s: room for the first GET on a busy machine
        check_served_only_once_established(live)


def check_served_only_once_established(live: KubeSim) -> None:
    created = httpx.post(live.url + CRD, json=crd()).json()
    before = httpx.get(live.url + "/apis/example.com/v1/namespaces/default/widgets").status_code

    settled = eventually(lambda: httpx.get(f"{live.url}{CRD}/widgets.example.com").json(),
                         lambda c: conditions(c).get("Established") == "True")

    assert conditions(created) == {}
    assert before == 404
    assert conditions(settled) == {"NamesAccepted": "True", "Established": "True"}
    assert settled["status"]["acceptedNames"]["kind"] == "Widget"
    assert httpx.get(live.url + "/apis/example.com/v1/namespaces/default/widgets").status_code == 200
    assert "example.com" in {g["name"] for g in httpx.get(live.url + "/apis").json()["groups"]}


def test_crd_whose_kind_another_crd_holds_is_not_accepted(kubesim: KubeSim) -> None:
    httpx.post(kubesim.url + CRD, json=crd("widgets", "Widget"))

    second = httpx.post(kubesim.url + CRD, json=crd("gadgets", "Widget", singular="gadget")).json()

    names_accepted = next(c for c in second["status"]["conditions"] if c["type"] == "NamesAccepted")
    assert (names_accepted["status"], names_accepted["reason"]) == ("False", "KindConflict")
    assert conditions(second)["Established"] == "False"
    assert httpx.get(kubesim.url + "/apis/example.com/v1/namespaces/default/gadgets").status_code == 404


def test_deleting_a_crd_deletes_its_custom_resources(kubesim: KubeSim) -> None:
    httpx.post(kubesim.url + CRD, json=crd())
    path = "/apis/example.com/v1/namespaces/default/widgets"
    httpx.post(kubesim.url + path, json={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})

    httpx.delete(f"{kubesim.url}{CRD}/widgets.example.com")

    assert httpx.get(f"{kubesim.url}{CRD}/widgets.example.com").status_code == 404
    assert httpx.get(f"{kubesim.url}{path}/w").status_code == 404


def scheduled(pods: str, name: str) -> None:
    eventually(lambda: httpx.get(f"{pods}/{name}").json(), lambda p: "PodScheduled" in conditions(p))


def pod(name: str, grace: int = 30) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"terminationGracePeriodSeconds": grace,
                                                 "containers": [{"name": "app", "image": "nginx:1.27"}]}}


def test_deleted_pod_terminates_for_its_grace_period_then_goes(live: KubeSim) -> None:
    pods = live.url + "/api/v1/namespaces/default/pods"
    httpx.post(pods, json=pod("p", grace=20))
    scheduled(pods, "p")

    marked = httpx.delete(f"{pods}/p").json()
    gone = eventually(lambda: httpx.get(f"{pods}/p").status_code, lambda code: code == 404)

    assert marked["metadata"]["deletionGracePeriodSeconds"] == 20
    assert marked["metadata"]["deletionTimestamp"]
    assert gone == 404


def test_request_grace_period_overrides_the_pods_and_zero_removes_at_once(live: KubeSim) -> None:
    pods = live.url + "/api/v1/namespaces/default/pods"
    httpx.post(pods, json=pod("p", grace=3000))
    scheduled(pods, "p")

    first = httpx.delete(f"{pods}/p", params={"gracePeriodSeconds": "500"}).json()
    httpx.delete(f"{pods}/p", params={"gracePeriodSeconds": "0"})

    assert first["metadata"]["deletionGracePeriodSeconds"] == 500
    assert httpx.get(f"{pods}/p").status_code == 404


def test_pod_delete_without_controllers_is_immediate(kubesim: KubeSim) -> None:
    pods = kubesim.url + "/api/v1/namespaces/default/pods"
    httpx.post(pods, json=pod("p"))

    httpx.delete(f"{pods}/p")

    assert httpx.get(f"{pods}/p").status_code == 404


def test_controllers_record_events_about_the_objects_they_change(live: KubeSim) -> None:
    deployment = {"metadata": {"name": "web"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}
    httpx.post(live.url + "/apis/apps/v1/namespaces/default/deployments", json=deployment)

    def reasons() -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for event in httpx.get(live.url + "/api/v1/namespaces/default/events").json()["items"]:
            out.setdefault(event["involvedObject"]["kind"], set()).add(event["reason"])
        return out

    seen = eventually(reasons, lambda r: "Started" in r.get("Pod", set()))

    assert seen["Deployment"] == {"ScalingReplicaSet"}
    assert seen["ReplicaSet"] == {"SuccessfulCreate"}
    assert {"Scheduled", "Pulling", "Pulled", "Created", "Started"} <= seen["Pod"]


def test_events_expire_after_the_event_ttl() -> None:
    with KubeSim(controllers=True, ready_delay=0.1, event_ttl=0.5) as sim:
        pods = sim.url + "/api/v1/namespaces/default/pods"
        httpx.post(pods, json=pod("p"))
        events = sim.url + "/api/v1/namespaces/default/events"
        eventually(lambda: httpx.get(events).json()["items"], bool)

        left = eventually(lambda: httpx.get(events).json()["items"], lambda items: not items)

    assert left == []


def test_ingress_controller_fills_the_load_balancer_status(live: KubeSim) -> None:
    path = live.url + "/apis/networking.k8s.io/v1/namespaces/default/ingresses"
    httpx.post(path, json={"metadata": {"name": "web"}, "spec": {"defaultBackend": {
        "service": {"name": "web", "port": {"number": 80}}}}})

    ingress = eventually(lambda: httpx.get(f"{path}/web").json(),
                         lambda i: (i.get("status") or {}).get("loadBalancer", {}).get("ingress"))

    assert ingress["status"]["loadBalancer"]["ingress"][0]["ip"]


def test_namespace_held_by_finalizers_reports_why_in_its_conditions(kubesim: KubeSim) -> None:
    # https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/ and the namespace
    # controller's status conditions (NamespaceContentRemaining, NamespaceFinalizersRemaining)
    httpx.post(kubesim.url + "/api/v1/namespaces", json={"metadata": {"name": "held"}})
    held = kubesim.url + "/api/v1/namespaces/held/configmaps"
    httpx.post(held, json={"metadata": {"name": "c", "finalizers": ["example.com/hold"]}})

    httpx.delete(kubesim.url + "/api/v1/namespaces/held")
    terminating = httpx.get(kubesim.url + "/api/v1/namespaces/held").json()
    httpx.patch(f"{held}/c", json={"metadata": {"finalizers": None}},
                headers={"Content-Type": "application/merge-patch+json"})

    found = {c["type"]: (c["status"], c["reason"], c["message"]) for c in terminating["status"]["conditions"]}
    assert terminating["status"]["phase"] == "Terminating"
    assert found["NamespaceContentRemaining"] == ("True", "SomeResourcesRemain",
                                                  "Some resources are remaining: configmaps. has 1 resource instances")
    assert found["NamespaceFinalizersRemaining"] == (
        "True", "SomeFinalizersRemain",
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")
    assert found["NamespaceDeletionContentFailure"][0] == "False"
    assert list(found) == ["NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure",
                           "NamespaceDeletionContentFailure", "NamespaceContentRemaining",
                           "NamespaceFinalizersRemaining"]
    assert httpx.get(kubesim.url + "/api/v1/namespaces/held").status_code == 404


def test_recreate_rollout_starts_new_pods_only_after_the_old_ones_terminated() -> None:
    # https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#recreate-deployment:
    # "all existing Pods are killed before new ones are created"; a terminating Pod is not gone yet.
    with KubeSim(controllers=True, ready_delay=0.1, termination_grace_scale=0.03) as sim:  # 30 s grace -> 0.9 s
        path = sim.url + "/apis/apps/v1/namespaces/default/deployments"
        body = {"metadata": {"name": "web"}, "spec": {
            "replicas": 2, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "app", "image": "nginx:1.26"}]}}}}
        httpx.post(path, json=body)
        eventually(lambda: httpx.get(f"{path}/web").json(),
                   lambda d: (d.get("status") or {}).get("updatedReplicas") == 2
                   and d["status"].get("availableReplicas") == 2)
        pods = sim.url + "/api/v1/namespaces/default/pods"
        rv = httpx.get(pods).json()["metadata"]["resourceVersion"]
        httpx.patch(f"{path}/web", json={"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "nginx:1.27"}]}}}}, headers={"Content-Type": "application/merge-patch+json"})

        order: list[tuple[str, str]] = []
        with httpx.stream("GET", pods, params={"watch": "true", "resourceVersion": rv, "timeoutSeconds": "8"},
                          timeout=15) as stream:
            for line in stream.iter_lines():
                event = json.loads(line)
                image = event["object"]["spec"]["containers"][0]["image"]
                if event["type"] in ("ADDED", "DELETED"):
                    order.append((event["type"], image))
                if order.count(("ADDED", "nginx:1.27")) == 2:
                    break

    first_new = order.index(("ADDED", "nginx:1.27"))
    assert order[:first_new] == [("DELETED", "nginx:1.26")] * 2


def test_a_second_delete_with_a_shorter_grace_period_brings_removal_forward(live: KubeSim) -> None:
    pods = live.url + "/api/v1/namespaces/default/pods"
    httpx.post(pods, json=pod("p", grace=3000))  # 3000 s x 0.02 = 60 s: longer than the wait below
    scheduled(pods, "p")

    httpx.delete(f"{pods}/p")
    shortened = httpx.delete(f"{pods}/p", params={"gracePeriodSeconds": "10"}).json()
    gone = eventually(lambda: httpx.get(f"{pods}/p").status_code, lambda code: code == 404)

    assert shortened["metadata"]["deletionGracePeriodSeconds"] == 10
    assert gone == 404
