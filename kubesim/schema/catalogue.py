"""The built-in resource types kubesim serves, as data (what `kubectl api-resources` lists on v1.31).

`status` marks types with a status subresource: writes to the main resource keep the
stored status. `generation` marks types whose strategy maintains metadata.generation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = {"status": ("get", "patch", "update"), "scale": ("get", "patch", "update")}


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    generation: bool = False
    categories: tuple[str, ...] = ()
    custom: bool = False  # served from a CustomResourceDefinition
    # Extra subresource names of a CRD version (e.g. scale replicas paths) need no more than this.
    list_kind: str = field(default="")

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def list_kind_name(self) -> str:
        return self.list_kind or f"{self.kind}List"


def _r(group: str, version: str, plural: str, kind: str, namespaced: bool = True, *,
       short: tuple[str, ...] = (), verbs: tuple[str, ...] = ALL_VERBS, sub: tuple[str, ...] = (),
       generation: bool = False, categories: tuple[str, ...] = ()) -> ResourceType:
    return ResourceType(group, version, plural, kind, namespaced, kind.lower(), short, verbs, sub,
                        generation, categories)


_NS_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")
_ALL = ("all",)

BUILTIN_TYPES: tuple[ResourceType, ...] = (
    # core/v1
    _r("", "v1", "configmaps", "ConfigMap", short=("cm",)),
    _r("", "v1", "endpoints", "Endpoints", short=("ep",)),
    _r("", "v1", "events", "Event", short=("ev",)),
    _r("", "v1", "limitranges", "LimitRange", short=("limits",)),
    _r("", "v1", "namespaces", "Namespace", False, short=("ns",), verbs=_NS_VERBS, sub=("finalize", "status")),
    _r("", "v1", "nodes", "Node", False, short=("no",), sub=("proxy", "status")),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=("pvc",), sub=("status",)),
    _r("", "v1", "persistentvolumes", "PersistentVolume", False, short=("pv",), sub=("status",)),
    _r("", "v1", "pods", "Pod", short=("po",), categories=_ALL,
       sub=("attach", "binding", "ephemeralcontainers", "eviction", "exec", "log", "portforward", "proxy",
            "status")),
    _r("", "v1", "podtemplates", "PodTemplate"),
    _r("", "v1", "replicationcontrollers", "ReplicationController", short=("rc",), sub=("scale", "status"),
       generation=True, categories=_ALL),
    _r("", "v1", "resourcequotas", "ResourceQuota", short=("quota",), sub=("status",)),
    _r("", "v1", "secrets", "Secret"),
    _r("", "v1", "serviceaccounts", "ServiceAccount", short=("sa",), sub=("token",)),
    _r("", "v1", "services", "Service", short=("svc",), sub=("proxy", "status"), categories=_ALL),
    # apps/v1
    _r("apps", "v1", "controllerrevisions", "ControllerRevision"),
    _r("apps", "v1", "daemonsets", "DaemonSet", short=("ds",), sub=("status",), generation=True,
       categories=_ALL),
    _r("apps", "v1", "deployments", "Deployment", short=("deploy",), sub=("scale", "status"),
       generation=True, categories=_ALL),
    _r("apps", "v1", "replicasets", "ReplicaSet", short=("rs",), sub=("scale", "status"), generation=True,
       categories=_ALL),
    _r("apps", "v1", "statefulsets", "StatefulSet", short=("sts",), sub=("scale", "status"),
       generation=True, categories=_ALL),
    # batch/v1
    _r("batch", "v1", "cronjobs", "CronJob", short=("cj",), sub=("status",), generation=True,
       categories=_ALL),
    _r("batch", "v1", "jobs", "Job", sub=("status",), generation=True, categories=_ALL),
    # networking.k8s.io/v1
    _r("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False, generation=True),
    _r("networking.k8s.io", "v1", "ingresses", "Ingress", short=("ing",), sub=("status",), generation=True),
    _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short=("netpol",), generation=True),
    # rbac.authorization.k8s.io/v1
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    # policy/v1
    _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short=("pdb",), sub=("status",),
       generation=True),
    # autoscaling: v2 is preferred, v1 served too (listed first so discovery names v2 preferred)
    _r("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", short=("hpa",),
       sub=("status",), generation=True, categories=_ALL),
    _r("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", short=("hpa",),
       sub=("status",), generation=True, categories=_ALL),
    # apiextensions.k8s.io/v1
    _r("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
       short=("crd", "crds"), sub=("status",), generation=True),
    # coordination.k8s.io/v1
    _r("coordination.k8s.io", "v1", "leases", "Lease"),
    # discovery.k8s.io/v1
    _r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    # scheduling.k8s.io/v1
    _r("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, short=("pc",)),
    # storage.k8s.io/v1
    _r("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False),
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, short=("sc",)),
    # admissionregistration.k8s.io/v1
    _r("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration",
       False, generation=True),
    _r("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
       "ValidatingWebhookConfiguration", False, generation=True),
    # apiregistration.k8s.io/v1
    _r("apiregistration.k8s.io", "v1", "apiservices", "APIService", False, sub=("status",)),
    # events.k8s.io/v1: the core/v1 Events through the newer API (kubesim.http.events_v1_view)
    _r("events.k8s.io", "v1", "events", "Event", short=("ev",)),
    # authorization.k8s.io/v1 and authentication.k8s.io/v1: reviews answered by kubesim.auth.access, never stored
    _r("authorization.k8s.io", "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview", verbs=("create",)),
    _r("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
       verbs=("create",)),
    _r("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False, verbs=("create",)),
    _r("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False, verbs=("create",)),
    _r("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False, verbs=("create",)),
    _r("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False, verbs=("create",)),
)

# Namespaces a fresh cluster has; they cannot be deleted.
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
UNDELETABLE_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})

# Deleting one of these returns the deleted object instead of a Status (registry ReturnDeletedObject).
RETURNS_DELETED_OBJECT = frozenset({("", "pods"), ("", "services"), ("", "namespaces")})
