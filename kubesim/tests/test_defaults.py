"""Server defaults and validation of built-in objects.

Defaults as the API reference states them (https://kubernetes.io/docs/reference/kubernetes-api/,
e.g. DeploymentSpec "progressDeadlineSeconds ... Defaults to 600s", JobSpec "backoffLimit ...
Defaults to 6"); validation messages as kube-apiserver words them.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from kubesim.errors import Invalid
from kubesim.schema.defaults import ClusterIPAllocator, apply_defaults, preserve_allocated, validate


def deployment(image: str = "nginx:1.25") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 80}]}]}},
        },
    }


def service(name: str = "web", **spec: Any) -> dict[str, Any]:
    body = {"selector": {"app": "web"}, "ports": [{"port": 80}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"}, "spec": body}


def defaulted(obj: dict[str, Any], group: str, kind: str) -> dict[str, Any]:
    apply_defaults(obj, group, kind, allocator=ClusterIPAllocator())
    return obj


def invalid(obj: dict[str, Any], old: dict[str, Any] | None, group: str, kind: str) -> Invalid:
    with pytest.raises(Invalid) as caught:
        validate(obj, old, group, kind)
    return caught.value


# --- defaults ---------------------------------------------------------------------------------

def test_deployment_gets_rolling_update_strategy_and_limits() -> None:
    spec = defaulted(deployment(), "apps", "Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)


def test_pod_template_gets_pod_spec_and_container_defaults() -> None:
    pod_spec = defaulted(deployment(), "apps", "Deployment")["spec"]["template"]["spec"]
    assert pod_spec["restartPolicy"] == "Always"
    assert pod_spec["dnsPolicy"] == "ClusterFirst"
    assert pod_spec["terminationGracePeriodSeconds"] == 30
    assert pod_spec["schedulerName"] == "default-scheduler"
    assert pod_spec["securityContext"] == {}
    container = pod_spec["containers"][0]
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]


@pytest.mark.parametrize("image", ["nginx", "nginx:latest", "registry:5000/team/nginx"])
def test_image_without_tag_or_latest_is_pulled_always(image: str) -> None:
    container = defaulted(deployment(image), "apps", "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "Always"


def test_defaults_never_replace_a_value_the_writer_chose() -> None:
    obj = deployment()
    obj["spec"]["revisionHistoryLimit"] = 3
    assert defaulted(obj, "apps", "Deployment")["spec"]["revisionHistoryLimit"] == 3


def test_defaulting_twice_changes_nothing_more() -> None:
    once = defaulted(deployment(), "apps", "Deployment")
    assert defaulted(copy.deepcopy(once), "apps", "Deployment") == once


def test_stateful_set_defaults() -> None:
    obj = deployment()
    spec = defaulted(obj, "apps", "StatefulSet")["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}


def test_daemon_set_update_strategy_default() -> None:
    spec = defaulted(deployment(), "apps", "DaemonSet")["spec"]
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}


def test_job_defaults_and_generated_selector_once_it_has_a_uid() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "uid": "abc"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x:1"}]}}}}
    spec = defaulted(job, "batch", "Job")["spec"]
    assert (spec["backoffLimit"], spec["completions"], spec["parallelism"]) == (6, 1, 1)
    assert (spec["completionMode"], spec["suspend"]) == ("NonIndexed", False)
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}}
    assert spec["template"]["metadata"]["labels"]["job-name"] == "j"


def test_cron_job_defaults() -> None:
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": "x:1"}]}}}}}}
    spec = defaulted(cron, "batch", "CronJob")["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"]) == ("Allow", False)
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 1)
    assert spec["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"


def test_service_defaults_and_cluster_ip_from_the_service_range() -> None:
    spec = defaulted(service(), "", "Service")["spec"]
    assert (spec["type"], spec["sessionAffinity"]) == ("ClusterIP", "None")
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert spec["clusterIP"].startswith("10.") and spec["clusterIPs"] == [spec["clusterIP"]]
    assert (spec["ipFamilies"], spec["ipFamilyPolicy"]) == (["IPv4"], "SingleStack")
    assert spec["internalTrafficPolicy"] == "Cluster"


def test_cluster_ips_are_unique_within_an_allocator() -> None:
    allocator = ClusterIPAllocator()
    ips = set()
    for number in range(50):
        obj = service(f"s{number}")
        apply_defaults(obj, "", "Service", allocator=allocator)
        ips.add(obj["spec"]["clusterIP"])
    assert len(ips) == 50


def test_cluster_ip_is_the_same_for_the_same_service_in_a_fresh_allocator() -> None:
    assert defaulted(service(), "", "Service")["spec"]["clusterIP"] == defaulted(service(), "", "Service")["spec"][
        "clusterIP"]


def test_node_port_service_gets_node_ports_in_range() -> None:
    spec = defaulted(service(type="NodePort"), "", "Service")["spec"]
    assert 30000 <= spec["ports"][0]["nodePort"] <= 32767
    assert spec["externalTrafficPolicy"] == "Cluster"


def test_external_name_service_gets_no_cluster_ip() -> None:
    spec = defaulted(service(type="ExternalName", externalName="example.com"), "", "Service")["spec"]
    assert "clusterIP" not in spec


def test_update_without_cluster_ip_keeps_the_allocated_one() -> None:
    old = defaulted(service(), "", "Service")
    new = service()
    preserve_allocated(new, old, "", "Service")
    assert new["spec"]["clusterIP"] == old["spec"]["clusterIP"]


def test_namespace_defaults() -> None:
    ns = defaulted({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}, "", "Namespace")
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}


def test_secret_string_data_is_merged_into_data_and_removed() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "eA=="},
              "stringData": {"b": "hello"}}
    result = defaulted(secret, "", "Secret")
    assert result["type"] == "Opaque"
    assert "stringData" not in result
    assert result["data"] == {"a": "eA==", "b": base64.b64encode(b"hello").decode()}


def test_persistent_volume_claim_defaults() -> None:
    claim = defaulted({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
                       "spec": {"resources": {"requests": {"storage": "1Gi"}}}}, "", "PersistentVolumeClaim")
    assert claim["spec"]["volumeMode"] == "Filesystem"


def test_config_map_gets_no_defaults() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert defaulted(copy.deepcopy(cm), "", "ConfigMap") == cm


# --- validation -------------------------------------------------------------------------------

def test_valid_defaulted_deployment_passes() -> None:
    validate(defaulted(deployment(), "apps", "Deployment"), None, "apps", "Deployment")


def test_missing_name_is_required_value() -> None:
    obj = deployment()
    del obj["metadata"]["name"]
    error = invalid(obj, None, "apps", "Deployment")
    assert error.message == ('Deployment.apps "" is invalid: metadata.name: Required value: '
                             "name or generateName is required")


def test_name_must_be_a_dns_subdomain() -> None:
    obj = deployment()
    obj["metadata"]["name"] = "Web_App"
    error = invalid(obj, None, "apps", "Deployment")
    assert error.message.startswith('Deployment.apps "Web_App" is invalid: metadata.name: Invalid value: "Web_App": '
                                    "a lowercase RFC 1123 subdomain must consist of")


def test_service_name_must_be_a_dns_1035_label() -> None:
    error = invalid(service("1web"), None, "", "Service")
    assert "a DNS-1035 label" in error.message


def test_rbac_names_may_contain_colons() -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:controller:x"}}
    validate(role, None, "rbac.authorization.k8s.io", "ClusterRole")


def test_deployment_selector_is_immutable() -> None:
    old = defaulted(deployment(), "apps", "Deployment")
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "x"}}
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    error = invalid(new, old, "apps", "Deployment")
    assert error.message.startswith('Deployment.apps "web" is invalid: spec.selector: Invalid value: ')
    assert error.message.endswith(": field is immutable")


def test_deployment_selector_must_match_template_labels() -> None:
    obj = deployment()
    obj["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    error = invalid(obj, None, "apps", "Deployment")
    assert "spec.template.metadata.labels" in error.message
    assert "`selector` does not match template `labels`" in error.message


def test_deployment_without_selector_is_required_value() -> None:
    obj = deployment()
    del obj["spec"]["selector"]
    assert "spec.selector: Required value" in invalid(obj, None, "apps", "Deployment").message


def test_container_without_image_is_required_value() -> None:
    obj = deployment()
    del obj["spec"]["template"]["spec"]["containers"][0]["image"]
    assert "spec.template.spec.containers[0].image: Required value" in invalid(obj, None, "apps",
                                                                                "Deployment").message


def test_pod_template_without_containers_is_required_value() -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"] = []
    assert "spec.template.spec.containers: Required value" in invalid(obj, None, "apps", "Deployment").message


def test_stateful_set_volume_claim_templates_cannot_change() -> None:
    old = defaulted(deployment(), "apps", "StatefulSet")
    new = copy.deepcopy(old)
    new["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}}]
    error = invalid(new, old, "apps", "StatefulSet")
    assert "spec: Forbidden: updates to statefulset spec for fields other than 'replicas'" in error.message


def test_stateful_set_replicas_may_change() -> None:
    old = defaulted(deployment(), "apps", "StatefulSet")
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 3
    validate(new, old, "apps", "StatefulSet")


def test_service_cluster_ip_cannot_change_once_set() -> None:
    old = defaulted(service(), "", "Service")
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.99"
    new["spec"]["clusterIPs"] = ["10.96.0.99"]
    assert "spec.clusterIPs[0]" in invalid(new, old, "", "Service").message


def test_service_needs_ports_unless_external_name() -> None:
    assert "spec.ports: Required value" in invalid(service(ports=[]), None, "", "Service").message
    validate(service(type="ExternalName", externalName="example.com", ports=[]), None, "", "Service")


def test_service_with_several_ports_needs_port_names() -> None:
    error = invalid(service(ports=[{"port": 80}, {"port": 81}]), None, "", "Service")
    assert "spec.ports[0].name: Required value" in error.message


def test_job_template_is_immutable() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "uid": "u"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x:1"}]}}}}
    old = defaulted(job, "batch", "Job")
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "x:2"
    assert "spec.template: Invalid value: " in invalid(new, old, "batch", "Job").message


def test_job_with_restart_policy_always_is_unsupported() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
           "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}
    error = invalid(defaulted(job, "batch", "Job"), None, "batch", "Job")
    assert 'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"' \
        in error.message


def test_persistent_volume_claim_spec_is_immutable_except_requests() -> None:
    old = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    bigger = copy.deepcopy(old)
    bigger["spec"]["resources"]["requests"]["storage"] = "2Gi"
    validate(bigger, old, "", "PersistentVolumeClaim")
    other_mode = copy.deepcopy(old)
    other_mode["spec"]["accessModes"] = ["ReadWriteMany"]
    assert "spec: Forbidden: spec is immutable after creation" in invalid(
        other_mode, old, "", "PersistentVolumeClaim").message


def test_immutable_config_map_data_cannot_change() -> None:
    old = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "immutable": True, "data": {"a": "1"}}
    new = copy.deepcopy(old)
    new["data"]["a"] = "2"
    error = invalid(new, old, "", "ConfigMap")
    assert error.message == ('ConfigMap "c" is invalid: data: Forbidden: field is immutable when `immutable` is set')


def test_mutable_config_map_data_may_change() -> None:
    old = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    new = copy.deepcopy(old)
    new["data"]["a"] = "2"
    validate(new, old, "", "ConfigMap")


def test_invalid_value_is_422_with_causes() -> None:
    obj = deployment()
    del obj["spec"]["selector"]
    status = invalid(obj, None, "apps", "Deployment").to_status()
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert {"type": "FieldValueRequired", "message": "Required value", "field": "spec.selector"} in status[
        "details"]["causes"]
