"""The objects a fresh cluster has before anyone writes: what kube-apiserver and a kubelet create at start.

- the four system namespaces, labelled `kubernetes.io/metadata.name` like every namespace;
- the `kubernetes` Service in `default` (first address of the service range, port 443 -> the
  apiserver's 6443) with its Endpoints and EndpointSlice, as the apiserver's bootstrap controller
  keeps them (pkg/controlplane/reconcilers);
- one Ready Node, the one the simulated kubelet runs every pod on;
- the bootstrap RBAC policy every authenticated client relies on (kubesim.auth.rbac).
"""

from __future__ import annotations

from kubesim.auth.rbac import bootstrap_policy
from kubesim.controllers.context import NODE_IP, NODE_NAME
from kubesim.schema.catalogue import DEFAULT_NAMESPACES
from kubesim.storage.objects import now
from kubesim.storage.store import Obj

KUBERNETES_SERVICE_IP = "10.96.0.1"
APISERVER_PORT = 6443


def namespaces() -> list[Obj]:
    return [{"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
             "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
            for name in DEFAULT_NAMESPACES]


def kubernetes_service() -> list[Obj]:
    labels = {"component": "apiserver", "provider": "kubernetes"}
    service: Obj = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": labels},
        "spec": {"type": "ClusterIP", "clusterIP": KUBERNETES_SERVICE_IP, "clusterIPs": [KUBERNETES_SERVICE_IP],
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": APISERVER_PORT}],
                 "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                 "internalTrafficPolicy": "Cluster"},
        "status": {"loadBalancer": {}},
    }
    endpoints: Obj = {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": NODE_IP}],
                     "ports": [{"name": "https", "port": APISERVER_PORT, "protocol": "TCP"}]}],
    }
    slice_: Obj = {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": APISERVER_PORT, "protocol": "TCP"}],
    }
    return [service, endpoints, slice_]


def node() -> Obj:
    stamp = now()
    conditions = [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ]
    capacity = {"cpu": "2", "memory": "8145492Ki", "pods": "110", "ephemeral-storage": "61202244Ki"}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE_NAME, "labels": {
            "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
            "node-role.kubernetes.io/control-plane": ""}},
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
        "status": {
            "conditions": [{"type": t, "status": s, "reason": r, "message": m, "lastHeartbeatTime": stamp,
                            "lastTransitionTime": stamp} for t, s, r, m in conditions],
            "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": NODE_NAME}],
            "capacity": capacity, "allocatable": capacity,
            "nodeInfo": {"kubeletVersion": "v1.31.0", "kubeProxyVersion": "v1.31.0", "operatingSystem": "linux",
                         "architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.18",
                         "osImage": "kubesim", "kernelVersion": "6.1.0", "machineID": "", "systemUUID": "",
                         "bootID": ""},
        },
    }


def bootstrap_objects() -> list[Obj]:
    """Everything a fresh cluster holds, namespaces first."""
    return [*namespaces(), *kubernetes_service(), node(), *bootstrap_policy()]
