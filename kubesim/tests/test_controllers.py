"""kubesim's simulated controllers, driven through the official Kubernetes client over HTTP.

Status shapes follow what kube-controller-manager and the kubelet write
(https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#deployment-status,
https://kubernetes.io/docs/concepts/workloads/controllers/job/#terminal-job-conditions).
Tests poll with a deadline and assert on the state reached; they never assert on time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s_client
from kubernetes.dynamic import DynamicClient

from kubesim import KubeSim
from kubesim.controllers.kubelet import image_fault
from kubesim.controllers.runner import ControllerManager, ControllerSettings

READY_DELAY = 0.2
WAIT_SECONDS = 10.0
NS = "default"


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = WAIT_SECONDS) -> Any:
    """Poll `read()` until `done(value)` or the deadline; returns the last value for the assertions."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    return value


def dynamic_client(sim: KubeSim, cache: Path) -> DynamicClient:
    config = k8s_client.Configuration(host=sim.url)
    config.proxy = None
    return DynamicClient(k8s_client.ApiClient(config), cache_file=str(cache))


class Cluster:
    """A kubesim with controllers on, and short helpers over the official DynamicClient."""

    def __init__(self, sim: KubeSim, client: DynamicClient) -> None:
        self.sim = sim
        self.client = client

    def resource(self, api_version: str, kind: str) -> Any:
        return self.client.resources.get(api_version=api_version, kind=kind)

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        namespace = obj["metadata"].get("namespace")
        return self.resource(obj["apiVersion"], obj["kind"]).create(body=obj, namespace=namespace).to_dict()

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = NS) -> dict[str, Any]:
        """The object; `status` is {} until someone writes one, so conditions on it can be polled."""
        obj = self.resource(api_version, kind).get(name=name, namespace=namespace).to_dict()
        obj.setdefault("status", {})
        return obj

    def list(self, api_version: str, kind: str, namespace: str = NS, selector: str = "") -> list[dict[str, Any]]:
        found = self.resource(api_version, kind).get(namespace=namespace, label_selector=selector).to_dict()
        return list(found["items"])

    def patch(self, api_version: str, kind: str, name: str, body: dict[str, Any]) -> None:
        self.resource(api_version, kind).patch(name=name, namespace=NS, body=body,
                                               content_type="application/merge-patch+json")

    def wait(self, api_version: str, kind: str, name: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        return wait_for(lambda: self.get(api_version, kind, name), done)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    # termination_grace_scale: a replaced pod terminates for 0.3 s instead of its 30 s grace period
    with KubeSim(controllers=True, ready_delay=READY_DELAY, termination_grace_scale=0.01) as sim:
        yield Cluster(sim, dynamic_client(sim, tmp_path / "discovery.json"))


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for found in (obj.get("status") or {}).get("conditions") or []:
        if found["type"] == kind:
            return dict(found)
    return {}


def deployment(name: str = "web", image: str = "nginx:1.27", replicas: int = 2,
               **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}, **spec}}


def job(name: str, image: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NS},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "task", "image": image}]}}, **spec}}


def rollout_complete(d: dict[str, Any]) -> bool:
    return condition(d, "Progressing").get("reason") == "NewReplicaSetAvailable" and \
        condition(d, "Available").get("status") == "True"


def pods_of(cluster: Cluster, app: str) -> list[dict[str, Any]]:
    return cluster.list("v1", "Pod", selector=f"app={app}")


def running_pods_of(cluster: Cluster, app: str) -> list[dict[str, Any]]:
    """The app's pods that are not terminating (replaced pods stay a grace period, as on a real cluster)."""
    return [p for p in pods_of(cluster, app) if not p["metadata"].get("deletionTimestamp")]


def first_container(pod: dict[str, Any]) -> dict[str, Any]:
    return dict(((pod.get("status") or {}).get("containerStatuses") or [{}])[0])


def waiting_reason(pod: dict[str, Any]) -> str:
    return str(first_container(pod).get("state", {}).get("waiting", {}).get("reason", ""))


def only_pod_of(cluster: Cluster, app: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Wait until `app` has exactly one pod and `done(pod)` holds; returns that pod."""
    pods = wait_for(lambda: pods_of(cluster, app), lambda found: len(found) == 1 and done(found[0]))
    assert len(pods) == 1
    return dict(pods[0])


# ---------------------------------------------------------------------------------- Deployments


def test_deployment_becomes_available_with_all_replicas(cluster: Cluster) -> None:
    cluster.create(deployment(replicas=2))

    final = cluster.wait("apps/v1", "Deployment", "web", rollout_complete)

    status = final["status"]
    assert (status["replicas"], status["updatedReplicas"], status["readyReplicas"],
            status["availableReplicas"]) == (2, 2, 2, 2)
    assert status["observedGeneration"] == final["metadata"]["generation"]
    assert condition(final, "Available")["reason"] == "MinimumReplicasAvailable"
    assert condition(final, "Progressing")["status"] == "True"


def test_deployment_owns_a_replicaset_named_after_its_pod_template_hash(cluster: Cluster) -> None:
    created = cluster.create(deployment())
    cluster.wait("apps/v1", "Deployment", "web", rollout_complete)

    [rs] = cluster.list("apps/v1", "ReplicaSet")

    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": pod_hash}
    [owner] = rs["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "Deployment", "web", created["metadata"]["uid"], True)
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"


def test_deployment_pods_are_owned_by_the_replicaset_and_running_ready(cluster: Cluster) -> None:
    cluster.create(deployment(replicas=3))
    cluster.wait("apps/v1", "Deployment", "web", rollout_complete)
    [rs] = cluster.list("apps/v1", "ReplicaSet")

    pods = pods_of(cluster, "web")

    assert len(pods) == 3
    for pod in pods:
        assert pod["metadata"]["name"].startswith(f"{rs['metadata']['name']}-")
        assert len(pod["metadata"]["name"]) == len(rs["metadata"]["name"]) + 6
        assert pod["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
        assert pod["status"]["phase"] == "Running"
        assert condition(pod, "Ready")["status"] == "True"
        [container] = pod["status"]["containerStatuses"]
        assert container["ready"] is True and "running" in container["state"]


def test_rollout_progress_reasons_go_from_created_through_updated_to_available(cluster: Cluster) -> None:
    created = cluster.create(deployment())
    deployments = cluster.resource("apps/v1", "Deployment")

    reasons: list[str] = []
    for event in cluster.client.watch(deployments, namespace=NS, name="web", timeout=int(WAIT_SECONDS),
                                      resource_version=created["metadata"]["resourceVersion"]):
        reason = condition(event["raw_object"], "Progressing").get("reason")
        if reason and (not reasons or reasons[-1] != reason):
            reasons.append(reason)
        if reason == "NewReplicaSetAvailable":
            break

    assert reasons == ["NewReplicaSetCreated", "ReplicaSetUpdated", "NewReplicaSetAvailable"]


def test_template_change_rolls_out_a_new_replicaset_and_scales_the_old_one_to_zero(cluster: Cluster) -> None:
    cluster.create(deployment(image="nginx:1.26"))
    cluster.wait("apps/v1", "Deployment", "web", rollout_complete)
    [first] = cluster.list("apps/v1", "ReplicaSet")

    cluster.patch("apps/v1", "Deployment", "web",
                  {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}})
    final = cluster.wait("apps/v1", "Deployment", "web",
                         lambda d: d["metadata"]["annotations"].get("deployment.kubernetes.io/revision") == "2"
                         and rollout_complete(d) and d["status"].get("replicas") == 2)

    replica_sets = {rs["metadata"]["name"]: rs for rs in cluster.list("apps/v1", "ReplicaSet")}
    old = replica_sets.pop(first["metadata"]["name"])
    [new] = replica_sets.values()
    assert old["spec"]["replicas"] == 0
    assert new["spec"]["replicas"] == 2
    assert new["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert {p["spec"]["containers"][0]["image"] for p in running_pods_of(cluster, "web")} == {"nginx:1.27"}
    assert final["status"]["updatedReplicas"] == 2


def test_broken_rollout_keeps_the_old_pods_serving_within_max_surge(cluster: Cluster) -> None:
    cluster.create(deployment(image="nginx:1.26", replicas=2, progressDeadlineSeconds=1))
    cluster.wait("apps/v1", "Deployment", "web", rollout_complete)

    cluster.patch("apps/v1", "Deployment", "web",
                  {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:broken"}]}}}})
    final = cluster.wait("apps/v1", "Deployment", "web",
                         lambda d: condition(d, "Progressing").get("reason") == "ProgressDeadlineExceeded")

    # maxSurge 25% of 2 rounds up to 1 extra pod; maxUnavailable 25% rounds down to 0.
    assert (final["status"]["replicas"], final["status"]["updatedReplicas"],
            final["status"]["availableReplicas"]) == (3, 1, 2)
    assert condition(final, "Available")["status"] == "True"
    images = sorted(p["spec"]["containers"][0]["image"] for p in pods_of(cluster, "web"))
    assert images == ["nginx:1.26", "nginx:1.26", "nginx:broken"]


def test_paused_deployment_does_not_roll_out_a_template_change(cluster: Cluster) -> None:
    cluster.create(deployment(image="nginx:1.26", replicas=1))
    cluster.wait("apps/v1", "Deployment", "web", rollout_complete)

    cluster.patch("apps/v1", "Deployment", "web", {"spec": {"paused": True, "template": {"spec": {
        "containers": [{"name": "app", "image": "nginx:1.27"}]}}}})
    final = cluster.wait("apps/v1", "Deployment", "web",
                         lambda d: condition(d, "Progressing").get("reason") == "DeploymentPaused")

    assert condition(final, "Progressing")["status"] == "Unknown"
    assert final["status"]["observedGeneration"] == final["metadata"]["generation"]
    assert len(cluster.list("apps/v1", "ReplicaSet")) == 1
    assert [p["spec"]["containers"][0]["image"] for p in pods_of(cluster, "web")] == ["nginx:1.26"]


def test_recreate_strategy_replaces_all_pods_with_the_new_template(cluster: Cluster) -> None:
    cluster.create(deployment(image="nginx:1.26", strategy={"type": "Recreate"}))
    cluster.wait("apps/v1", "Deployment", "web", rollout_complete)

    cluster.patch("apps/v1", "Deployment", "web",
                  {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}})
    cluster.wait("apps/v1", "Deployment", "web",
                 lambda d: d["status"].get("observedGeneration") == 2 and rollout_complete(d))

    assert sorted(p["spec"]["containers"][0]["image"] for p in pods_of(cluster, "web")) == ["nginx:1.27"] * 2


def test_scaling_a_deployment_changes_its_pod_count(cluster: Cluster) -> None:
    cluster.create(deployment(replicas=1))
    cluster.wait("apps/v1", "Deployment", "web", rollout_complete)

    cluster.patch("apps/v1", "Deployment", "web", {"spec": {"replicas": 3}})
    final = cluster.wait("apps/v1", "Deployment", "web",
                         lambda d: d["status"].get("availableReplicas") == 3 and rollout_complete(d))

    assert final["status"]["readyReplicas"] == 3
    assert len(pods_of(cluster, "web")) == 3
    assert len(cluster.list("apps/v1", "ReplicaSet")) == 1


def test_broken_image_puts_pods_in_crash_loop_back_off_with_rising_restarts(cluster: Cluster) -> None:
    cluster.create(deployment(image="nginx:broken", replicas=1))

    pod = only_pod_of(cluster, "web", lambda p: first_container(p).get("restartCount", 0) >= 2)

    [container] = pod["status"]["containerStatuses"]
    assert container["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert container["lastState"]["terminated"]["exitCode"] == 1
    assert container["restartCount"] >= 2
    assert container["ready"] is False
    assert condition(pod, "Ready")["reason"] == "ContainersNotReady"


def test_crashloop_in_the_image_name_also_crashes(cluster: Cluster) -> None:
    cluster.create(deployment(image="example.com/team/crashloop-app:1.0", replicas=1))

    pod = only_pod_of(cluster, "web", lambda p: bool(waiting_reason(p)) and waiting_reason(p) != "ContainerCreating")

    assert waiting_reason(pod) == "CrashLoopBackOff"


def test_broken_image_deployment_exceeds_its_progress_deadline(cluster: Cluster) -> None:
    cluster.create(deployment(image="nginx:broken", replicas=1, progressDeadlineSeconds=1))

    final = cluster.wait("apps/v1", "Deployment", "web",
                         lambda d: condition(d, "Progressing").get("status") == "False")

    progressing = condition(final, "Progressing")
    assert progressing["reason"] == "ProgressDeadlineExceeded"
    assert progressing["message"].endswith("has timed out progressing.")
    assert condition(final, "Available")["status"] == "False"
    assert final["status"].get("availableReplicas", 0) == 0


def test_progress_deadline_scale_shortens_the_default_deadline(tmp_path: Path) -> None:
    # The default progressDeadlineSeconds (600) times 0.002 is 1.2 s of simulated waiting.
    with KubeSim() as sim, ControllerManager(sim.api, ControllerSettings(ready_delay=READY_DELAY,
                                                                         progress_deadline_scale=0.002)):
        client = Cluster(sim, dynamic_client(sim, tmp_path / "discovery.json"))
        client.create(deployment(image="nginx:broken", replicas=1))

        final = client.wait("apps/v1", "Deployment", "web",
                            lambda d: condition(d, "Progressing").get("status") == "False")

    assert final["spec"]["progressDeadlineSeconds"] == 600
    assert condition(final, "Progressing")["reason"] == "ProgressDeadlineExceeded"


def test_missing_image_leaves_the_pod_pending_in_image_pull_back_off(cluster: Cluster) -> None:
    cluster.create(deployment(image="nginx:missing", replicas=1))

    pod = only_pod_of(cluster, "web", lambda p: waiting_reason(p) == "ImagePullBackOff")

    assert pod["status"]["phase"] == "Pending"
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "nginx:missing"'}


def test_deleting_a_deployment_removes_its_replicasets_and_pods(cluster: Cluster) -> None:
    cluster.create(deployment())
    cluster.wait("apps/v1", "Deployment", "web", rollout_complete)

    cluster.resource("apps/v1", "Deployment").delete(name="web", namespace=NS)
    leftovers = wait_for(lambda: cluster.list("apps/v1", "ReplicaSet") + pods_of(cluster, "web"),
                         lambda found: not found)

    assert leftovers == []


def test_controller_status_writes_are_recorded_under_kube_controller_manager(cluster: Cluster) -> None:
    cluster.create(deployment(replicas=1))
    final = cluster.wait("apps/v1", "Deployment", "web", rollout_complete)

    status_managers = {(e["manager"], e.get("subresource")) for e in final["metadata"]["managedFields"]
                       if "f:status" in e.get("fieldsV1", {})}

    assert status_managers == {("kube-controller-manager", "status")}


# --------------------------------------------------------------------------- other workloads


def test_standalone_pod_becomes_running_and_ready(cluster: Cluster) -> None:
    cluster.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "solo", "namespace": NS},
                    "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}})

    final = cluster.wait("v1", "Pod", "solo", lambda p: p["status"].get("phase") == "Running")

    assert condition(final, "Ready")["status"] == "True"
    assert final["status"]["podIP"].startswith("10.244.")


def test_job_completes_with_success_criteria_met_and_complete_conditions(cluster: Cluster) -> None:
    cluster.create(job("migrate", "busybox:1.36"))

    final = cluster.wait("batch/v1", "Job", "migrate", lambda j: condition(j, "Complete").get("status") == "True")

    assert final["status"]["succeeded"] == 1
    assert condition(final, "SuccessCriteriaMet")["status"] == "True"
    assert condition(final, "Complete")["reason"] == "CompletionsReached"
    assert final["status"]["startTime"] and final["status"]["completionTime"]
    [pod] = cluster.list("v1", "Pod", selector="job-name=migrate")
    assert pod["status"]["phase"] == "Succeeded"


def test_job_with_broken_image_fails_with_backoff_limit_exceeded(cluster: Cluster) -> None:
    cluster.create(job("migrate", "busybox:broken", backoffLimit=1))

    final = cluster.wait("batch/v1", "Job", "migrate", lambda j: condition(j, "Failed").get("status") == "True")

    assert condition(final, "Failed")["reason"] == "BackoffLimitExceeded"
    assert condition(final, "FailureTarget")["status"] == "True"
    assert final["status"]["failed"] == 2
    assert "Complete" not in {c["type"] for c in final["status"]["conditions"]}


def test_statefulset_pods_are_numbered_and_the_set_becomes_ready(cluster: Cluster) -> None:
    cluster.create({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": NS},
                    "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                             "template": {"metadata": {"labels": {"app": "db"}},
                                          "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}}})

    final = cluster.wait("apps/v1", "StatefulSet", "db", lambda s: s["status"].get("readyReplicas") == 3)

    status = final["status"]
    assert (status["replicas"], status["currentReplicas"], status["updatedReplicas"],
            status["availableReplicas"]) == (3, 3, 3, 3)
    assert status["currentRevision"] == status["updateRevision"]
    assert status["observedGeneration"] == final["metadata"]["generation"]
    assert sorted(p["metadata"]["name"] for p in pods_of(cluster, "db")) == ["db-0", "db-1", "db-2"]


def test_statefulset_creates_a_claim_per_pod_from_its_volume_claim_templates(cluster: Cluster) -> None:
    cluster.create({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": NS},
                    "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                             "template": {"metadata": {"labels": {"app": "db"}},
                                          "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}},
                             "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                                 "accessModes": ["ReadWriteOnce"],
                                 "resources": {"requests": {"storage": "1Gi"}}}}]}})
    cluster.wait("apps/v1", "StatefulSet", "db", lambda s: s["status"].get("readyReplicas") == 2)

    claims = cluster.list("v1", "PersistentVolumeClaim")

    assert sorted(c["metadata"]["name"] for c in claims) == ["data-db-0", "data-db-1"]
    pod = cluster.get("v1", "Pod", "db-0")
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}} in pod["spec"]["volumes"]


def test_daemonset_runs_one_ready_pod_on_the_single_node(cluster: Cluster) -> None:
    cluster.create({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": NS},
                    "spec": {"selector": {"matchLabels": {"app": "agent"}},
                             "template": {"metadata": {"labels": {"app": "agent"}},
                                          "spec": {"containers": [{"name": "agent", "image": "fluent-bit:3"}]}}}})

    final = cluster.wait("apps/v1", "DaemonSet", "agent", lambda d: d["status"].get("numberReady") == 1)

    status = final["status"]
    assert (status["desiredNumberScheduled"], status["currentNumberScheduled"], status["updatedNumberScheduled"],
            status["numberAvailable"], status["numberMisscheduled"]) == (1, 1, 1, 1, 0)
    assert status["observedGeneration"] == final["metadata"]["generation"]
    assert len(pods_of(cluster, "agent")) == 1


# ----------------------------------------------------------------------- storage and network


def claim(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": NS},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}, **spec}}


def test_claim_becomes_bound_with_the_requested_capacity(cluster: Cluster) -> None:
    cluster.create(claim("data"))

    final = cluster.wait("v1", "PersistentVolumeClaim", "data", lambda c: c["status"].get("phase") == "Bound")

    assert final["status"]["capacity"] == {"storage": "2Gi"}
    assert final["status"]["accessModes"] == ["ReadWriteOnce"]
    assert final["spec"]["volumeName"] == f"pvc-{final['metadata']['uid']}"


def test_claim_with_storage_class_pending_is_never_bound(cluster: Cluster) -> None:
    cluster.create(claim("waiting", storageClassName="pending"))
    cluster.create(claim("control"))
    cluster.wait("v1", "PersistentVolumeClaim", "control", lambda c: c["status"].get("phase") == "Bound")

    final = cluster.get("v1", "PersistentVolumeClaim", "waiting")

    assert final["status"]["phase"] == "Pending"


def test_load_balancer_service_gets_an_ingress_ip_from_test_net(cluster: Cluster) -> None:
    cluster.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "edge", "namespace": NS},
                    "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]}})

    final = cluster.wait("v1", "Service", "edge", lambda s: bool(s["status"]["loadBalancer"].get("ingress")))

    [ingress] = final["status"]["loadBalancer"]["ingress"]
    assert ingress["ip"].startswith("192.0.2.")


# ------------------------------------------------------------------------------ switched off


def test_without_controllers_nothing_writes_status(kube_client: DynamicClient, kubesim: KubeSim) -> None:
    deployments = kube_client.resources.get(api_version="apps/v1", kind="Deployment")
    deployments.create(body=deployment(), namespace=NS)
    time.sleep(0.5)  # a chance for anything that would act; the fixture's sim runs no controllers

    final = deployments.get(name="web", namespace=NS).to_dict()

    assert not (final.get("status") or {}).get("conditions")
    assert kubesim.api.list_objects("apps/v1", "ReplicaSet") == []
    assert kubesim.api.list_objects("v1", "Pod") == []


# ------------------------------------------------------------------------------ image names


@pytest.mark.parametrize(("image", "fault"), [
    ("nginx:broken", "crash"), ("registry.local:5000/crashloop:1", "crash"), ("nginx:missing", "pull"),
    ("nginx:1.27", ""), ("nginx", ""), ("registry.local:5000/broken-not-a-tag:1", ""),
])
def test_image_fault_is_chosen_by_tag_and_repository_name(image: str, fault: str) -> None:
    assert image_fault(image) == fault
