"""The defaults kube-apiserver fills into built-in objects, so drift detection sees what a cluster shows.

Sources: the API reference (https://kubernetes.io/docs/reference/kubernetes-api/),
whose field docs state each default ("Defaults to 6", "Default is Cluster"...), and
k8s.io/kubernetes pkg/apis/*/v1/defaults.go. Only fields that are absent are filled;
a value the writer chose is never replaced. Objects are changed in place.

Also here: `preserve_allocated`, which carries a Service's allocated clusterIP(s) and
node ports over an update that leaves them out (as the Service registry does since
Kubernetes 1.20), and the cluster IP / node port allocator. `validate` lives in
kubesim.schema.validation and is re-exported for callers that import both from here.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import threading
from typing import Any

from kubesim.schema.validation import validate

__all__ = ["ClusterIPAllocator", "apply_defaults", "preserve_allocated", "validate"]

_SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
_NODE_PORTS = range(30000, 32768)


class ClusterIPAllocator:
    """Hands out Service cluster IPs from 10.96.0.0/12 and node ports from 30000-32767.

    The first candidate is a hash of namespace/name, so an object gets the same address
    in every run of the same test; collisions probe onward, so addresses are unique
    within one allocator. 10.96.0.1 is kept for the `kubernetes` Service, as in kubeadm.
    """

    def __init__(self) -> None:
        self._ips: set[int] = {int(_SERVICE_CIDR.network_address) + 1}
        self._ports: set[int] = set()
        self._lock = threading.Lock()

    def cluster_ip(self, namespace: str, name: str) -> str:
        base = int(_SERVICE_CIDR.network_address)
        span = _SERVICE_CIDR.num_addresses - 2  # no network or broadcast address
        start = _hash(f"{namespace}/{name}") % span
        with self._lock:
            for step in range(span):
                candidate = base + 1 + (start + step) % span
                if candidate not in self._ips:
                    self._ips.add(candidate)
                    return str(ipaddress.ip_address(candidate))
        raise RuntimeError("service IP range 10.96.0.0/12 is exhausted; delete Services or use a new allocator")

    def node_port(self, namespace: str, name: str, port: int) -> int:
        start = _hash(f"{namespace}/{name}/{port}") % len(_NODE_PORTS)
        with self._lock:
            for step in range(len(_NODE_PORTS)):
                candidate = _NODE_PORTS[(start + step) % len(_NODE_PORTS)]
                if candidate not in self._ports:
                    self._ports.add(candidate)
                    return candidate
        raise RuntimeError("node port range 30000-32767 is exhausted")

    def reserve(self, service: dict[str, Any]) -> None:
        """Mark the addresses and ports a stored Service holds as taken."""
        spec = service.get("spec") or {}
        with self._lock:
            for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
                if ip and ip != "None":
                    self._ips.add(int(ipaddress.ip_address(ip)))
            for port in spec.get("ports") or []:
                if isinstance(port.get("nodePort"), int):
                    self._ports.add(port["nodePort"])

    def release(self, service: dict[str, Any]) -> None:
        """Free what a deleted Service held."""
        spec = service.get("spec") or {}
        with self._lock:
            for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
                if ip and ip != "None":
                    self._ips.discard(int(ipaddress.ip_address(ip)))
            for port in spec.get("ports") or []:
                self._ports.discard(port.get("nodePort"))


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


DEFAULT_ALLOCATOR = ClusterIPAllocator()


def apply_defaults(obj: dict[str, Any], group: str, kind: str, *,
                   allocator: ClusterIPAllocator | None = None) -> None:
    """Fill the server-side defaults of a built-in `group`/`kind` into `obj`, in place."""
    handler = _BY_KIND.get((group, kind))
    if handler is not None:
        handler(obj, allocator or DEFAULT_ALLOCATOR)


def preserve_allocated(new: dict[str, Any], old: dict[str, Any] | None, group: str, kind: str) -> None:
    """Keep a Service's allocated clusterIP(s)/nodePorts when an update leaves them out."""
    if (group, kind) != ("", "Service") or not old:
        return
    old_spec, spec = old.get("spec") or {}, new.setdefault("spec", {})
    if spec.get("type", "ClusterIP") == "ExternalName":
        return
    if not spec.get("clusterIP") and old_spec.get("clusterIP"):
        spec["clusterIP"] = old_spec["clusterIP"]
        if not spec.get("clusterIPs") and old_spec.get("clusterIPs"):
            spec["clusterIPs"] = list(old_spec["clusterIPs"])
    old_ports = {(p.get("port"), p.get("protocol", "TCP")): p for p in old_spec.get("ports") or []}
    for port in spec.get("ports") or []:
        previous = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
        if previous and "nodePort" not in port and "nodePort" in previous:
            port["nodePort"] = previous["nodePort"]
    if "healthCheckNodePort" in old_spec and "healthCheckNodePort" not in spec:
        spec["healthCheckNodePort"] = old_spec["healthCheckNodePort"]


# ---------------------------------------------------------------------------------------------
# Pods and pod templates (core/v1 SetDefaults_PodSpec, SetDefaults_Container, ...)


def _image_pull_policy(image: str) -> str:
    # `:latest` or no tag pulls Always; a digest or any other tag IfNotPresent.
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("path", "/")
        probe["httpGet"].setdefault("scheme", "HTTP")


def _container(container: Any) -> None:
    if not isinstance(container, dict):
        return
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    if isinstance(container.get("image"), str):
        container.setdefault("imagePullPolicy", _image_pull_policy(container["image"]))
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        field_ref = ((env or {}).get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(container.get(name))


def _volume(volume: Any) -> None:
    if not isinstance(volume, dict):
        return
    for source in ("configMap", "secret", "downwardAPI", "projected"):
        if isinstance(volume.get(source), dict):
            volume[source].setdefault("defaultMode", 420)
    if isinstance(volume.get("hostPath"), dict):
        volume["hostPath"].setdefault("type", "")


def _pod_spec(spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for name in ("containers", "initContainers", "ephemeralContainers"):
        for container in spec.get(name) or []:
            _container(container)
    for volume in spec.get("volumes") or []:
        _volume(volume)


def _template(owner: Any) -> None:
    if isinstance(owner, dict) and isinstance(owner.get("template"), dict):
        _pod_spec(owner["template"].setdefault("spec", {}))


def _pod(obj: dict[str, Any], _: ClusterIPAllocator) -> None:
    spec = obj.setdefault("spec", {})
    _pod_spec(spec)
    spec.setdefault("enableServiceLinks", True)
    obj.setdefault("status", {}).setdefault("phase", "Pending")


# ---------------------------------------------------------------------------------------------
# Workloads (apps/v1, batch/v1 defaults.go)


def _deployment(obj: dict[str, Any], _: ClusterIPAllocator) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(spec)


def _replica_set(obj: dict[str, Any], _: ClusterIPAllocator) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _template(spec)


def _stateful_set(obj: dict[str, Any], _: ClusterIPAllocator) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    retention = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    retention.setdefault("whenDeleted", "Retain")
    retention.setdefault("whenScaled", "Retain")
    for claim in spec.get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            claim.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
    _template(spec)


def _daemon_set(obj: dict[str, Any], _: ClusterIPAllocator) -> None:
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    _template(spec)


def _job(obj: dict[str, Any], _: ClusterIPAllocator) -> None:
    spec = obj.setdefault("spec", {})
    if "completions" not in spec and "parallelism" not in spec:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 2147483647 if "backoffLimitPerIndex" in spec else 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    if "podFailurePolicy" not in spec:
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    _job_selector(obj, spec)
    _template(spec)


def _job_selector(obj: dict[str, Any], spec: dict[str, Any]) -> None:
    # The Job registry generates the selector from the uid unless manualSelector is
    # true; it can only do so once the server has given the object a uid.
    uid = (obj.get("metadata") or {}).get("uid")
    if not uid or spec.get("manualSelector") or spec.get("selector"):
        return
    name = obj["metadata"].get("name", "")
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
    labels.setdefault("batch.kubernetes.io/controller-uid", uid)
    labels.setdefault("batch.kubernetes.io/job-name", name)
    labels.setdefault("controller-uid", uid)
    labels.setdefault("job-name", name)


def _cron_job(obj: dict[str, Any], _: ClusterIPAllocator) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):
        _template(job_template.setdefault("spec", {}))


def _replication_controller(obj: dict[str, Any], _: ClusterIPAllocator) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _template(spec)


def _pod_template(obj: dict[str, Any], _: ClusterIPAllocator) -> None:
    _template(obj)


# ---------------------------------------------------------------------------------------------
# Services, namespaces, configuration


def _service(obj: dict[str, Any], allocator: ClusterIPAllocator) -> None:
    meta = obj.get("metadata") or {}
    namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    spec = obj.setdefault("spec", {})
    service_type = spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    obj.setdefault("status", {}).setdefault("loadBalancer", {})
    for port in spec.get("ports") or []:
        if not isinstance(port, dict):
            continue
        port.setdefault("protocol", "TCP")
        if "port" in port:
            port.setdefault("targetPort", port["port"])
        if service_type in ("NodePort", "LoadBalancer") and not port.get("nodePort") and (
            service_type == "NodePort" or spec.get("allocateLoadBalancerNodePorts", True)
        ):
            port["nodePort"] = allocator.node_port(namespace, name, int(port.get("port") or 0))
    if service_type == "ExternalName":
        return
    if not spec.get("clusterIP"):
        ips = spec.get("clusterIPs")
        spec["clusterIP"] = ips[0] if ips else allocator.cluster_ip(namespace, name)
    spec.setdefault("clusterIPs", [spec["clusterIP"]])
    if spec["clusterIP"] != "None" or spec.get("selector"):
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if service_type in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if service_type == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)


def _namespace(obj: dict[str, Any], _: ClusterIPAllocator) -> None:
    meta = obj.setdefault("metadata", {})
    if meta.get("name"):
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


def _secret(obj: dict[str, Any], _: ClusterIPAllocator) -> None:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = obj.get("data")
        if not isinstance(data, dict):
            data = obj["data"] = {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _persistent_volume_claim(obj: dict[str, Any], _: ClusterIPAllocator) -> None:
    obj.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
    obj.setdefault("status", {}).setdefault("phase", "Pending")


def _role_binding(obj: dict[str, Any], _: ClusterIPAllocator) -> None:
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and subject.get("kind") in ("User", "Group"):
            subject.setdefault("apiGroup", "rbac.authorization.k8s.io")


_BY_KIND = {
    ("", "Pod"): _pod,
    ("", "PodTemplate"): _pod_template,
    ("", "ReplicationController"): _replication_controller,
    ("", "Service"): _service,
    ("", "Namespace"): _namespace,
    ("", "Secret"): _secret,
    ("", "PersistentVolumeClaim"): _persistent_volume_claim,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replica_set,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cron_job,
    ("rbac.authorization.k8s.io", "RoleBinding"): _role_binding,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _role_binding,
}
