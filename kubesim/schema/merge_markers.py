"""Merge semantics of built-in kinds: which lists are keyed, which are sets, which maps are atomic.

One table serves server-side apply (the `+listType`/`+listMapKey`/`+mapType`/`+structType`
markers of k8s.io/api) and strategic merge patch (`+patchMergeKey`/`+patchStrategy`).
They differ in a few places, both recorded here: container ports merge by
`containerPort` in a strategic merge patch but are keyed by `containerPort` + `protocol`
in server-side apply; Service ports likewise by `port` versus `port` + `protocol`.

Anything not listed is a granular map or an atomic list, which is also what a real
server does for custom resources without schema markers. Lookups walk a prebuilt tree
(`SchemaNode.child`), so no path strings are built on the hot path of an apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

ITEM = "[]"  # child name under which a list node keeps the schema of its items

BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
    "storage.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io",
    "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "certificates.k8s.io",
    "node.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io", "resource.k8s.io",
})

# Built-in kinds served with a /status subresource: an apply or update of the main
# resource leaves their status alone.
STATUS_SUBRESOURCE_KINDS = frozenset({
    ("", "Pod"), ("", "Service"), ("", "Namespace"), ("", "Node"), ("", "PersistentVolumeClaim"),
    ("", "PersistentVolume"), ("", "ReplicationController"), ("", "ResourceQuota"),
    ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet"),
    ("batch", "Job"), ("batch", "CronJob"), ("autoscaling", "HorizontalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"), ("networking.k8s.io", "Ingress"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"), ("apiregistration.k8s.io", "APIService"),
    ("certificates.k8s.io", "CertificateSigningRequest"), ("storage.k8s.io", "VolumeAttachment"),
})


@dataclass(eq=False)
class SchemaNode:
    """Merge semantics of one field; unknown children get `UNKNOWN` (granular map / atomic list)."""

    children: dict[str, SchemaNode] = field(default_factory=dict)
    list_type: str = "atomic"  # "atomic" | "map" | "set"
    keys: tuple[str, ...] = ()  # SSA listMapKeys of a "map" list
    key_defaults: dict[str, object] = field(default_factory=dict)  # server defaults of key fields
    merge_key: str = ""  # strategic merge patch patchMergeKey ("" = list replaced)
    merge_primitives: bool = False  # strategic merge patch: primitive list merged as a set
    atomic_map: bool = False  # SSA: the map/struct is owned and replaced as one value

    def child(self, name: str) -> SchemaNode:
        return self.children.get(name, UNKNOWN)

    @property
    def item(self) -> SchemaNode:
        return self.children.get(ITEM, UNKNOWN)


UNKNOWN = SchemaNode()


@dataclass(frozen=True)
class Rule:
    list_type: str = "atomic"
    keys: tuple[str, ...] = ()
    merge_key: str = ""
    merge_primitives: bool = False
    atomic_map: bool = False
    key_defaults: tuple[tuple[str, object], ...] = ()


def _keyed(*keys: str, merge_key: str = "", defaults: tuple[tuple[str, object], ...] = ()) -> Rule:
    return Rule("map", keys, merge_key or keys[0], key_defaults=defaults)


_TCP = (("protocol", "TCP"),)
_ATOMIC_MAP = Rule(atomic_map=True)

# Relative to a container (k8s.io/api/core/v1 Container).
_CONTAINER = {
    "ports": _keyed("containerPort", "protocol", merge_key="containerPort", defaults=_TCP),
    "env": _keyed("name"),
    "volumeMounts": _keyed("mountPath"),
    "volumeDevices": _keyed("devicePath"),
    "resizePolicy": Rule(),
}

# Relative to a PodSpec.
_POD_SPEC: dict[str, Rule] = {
    "volumes": _keyed("name"),
    "imagePullSecrets": _keyed("name"),
    "hostAliases": _keyed("ip"),
    "topologySpreadConstraints": _keyed("topologyKey", "whenUnsatisfiable", merge_key="topologyKey"),
    "schedulingGates": _keyed("name"),
    "resourceClaims": _keyed("name"),
    "nodeSelector": _ATOMIC_MAP,
}
for _list in ("containers", "initContainers", "ephemeralContainers"):
    _POD_SPEC[_list] = _keyed("name")
    for _sub, _rule in _CONTAINER.items():
        _POD_SPEC[f"{_list}[].{_sub}"] = _rule

# Relative to an ObjectMeta.
_OBJECT_META = {
    "finalizers": Rule("set", merge_primitives=True),
    "ownerReferences": _keyed("uid"),
}

_CONDITIONS = {"status.conditions": _keyed("type")}

_POD_TEMPLATE_OWNERS = {
    ("", "Pod"): "spec",
    ("", "PodTemplate"): "template.spec",
    ("", "ReplicationController"): "spec.template.spec",
    ("apps", "Deployment"): "spec.template.spec",
    ("apps", "ReplicaSet"): "spec.template.spec",
    ("apps", "StatefulSet"): "spec.template.spec",
    ("apps", "DaemonSet"): "spec.template.spec",
    ("batch", "Job"): "spec.template.spec",
    ("batch", "CronJob"): "spec.jobTemplate.spec.template.spec",
}

_KIND_RULES: dict[tuple[str, str], dict[str, Rule]] = {
    ("", "Service"): {
        "spec.ports": _keyed("port", "protocol", merge_key="port", defaults=_TCP),
        "spec.selector": _ATOMIC_MAP,
    },
    ("", "ReplicationController"): {"spec.selector": _ATOMIC_MAP},
    ("apps", "Deployment"): {"spec.selector": _ATOMIC_MAP},
    ("apps", "ReplicaSet"): {"spec.selector": _ATOMIC_MAP},
    ("apps", "StatefulSet"): {"spec.selector": _ATOMIC_MAP},
    ("apps", "DaemonSet"): {"spec.selector": _ATOMIC_MAP},
    ("batch", "Job"): {"spec.selector": _ATOMIC_MAP},
    ("batch", "CronJob"): {"spec.jobTemplate.spec.selector": _ATOMIC_MAP},
    ("policy", "PodDisruptionBudget"): {"spec.selector": _ATOMIC_MAP},
    ("networking.k8s.io", "NetworkPolicy"): {"spec.podSelector": _ATOMIC_MAP},
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): {"webhooks": _keyed("name")},
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): {"webhooks": _keyed("name")},
}


def _insert(root: SchemaNode, path: str, rule: Rule) -> None:
    node = root
    for part in path.replace("[]", ".[]").split("."):
        node = node.children.setdefault(part, SchemaNode())
    node.list_type = rule.list_type
    node.keys = rule.keys
    node.merge_key = rule.merge_key
    node.merge_primitives = rule.merge_primitives
    node.atomic_map = rule.atomic_map
    node.key_defaults = dict(rule.key_defaults)


@cache
def schema_for(group: str, kind: str) -> SchemaNode:
    """The merge schema of an object of `group`/`kind` (custom resources: ObjectMeta only)."""
    root = SchemaNode()
    for path, rule in _OBJECT_META.items():
        _insert(root, f"metadata.{path}", rule)
    if group not in BUILTIN_GROUPS:
        return root
    if (group, kind) in STATUS_SUBRESOURCE_KINDS:
        for path, rule in _CONDITIONS.items():
            _insert(root, path, rule)
    pod_spec = _POD_TEMPLATE_OWNERS.get((group, kind))
    if pod_spec:
        for path, rule in _POD_SPEC.items():
            _insert(root, f"{pod_spec}.{path}", rule)
        template_meta = pod_spec.rsplit(".", 1)[0] + ".metadata" if "." in pod_spec else ""
        for path, rule in _OBJECT_META.items():
            if template_meta:
                _insert(root, f"{template_meta}.{path}", rule)
    for path, rule in _KIND_RULES.get((group, kind), {}).items():
        _insert(root, path, rule)
    return root


def is_builtin(group: str) -> bool:
    return group in BUILTIN_GROUPS


def has_status_subresource(group: str, kind: str) -> bool:
    return (group, kind) in STATUS_SUBRESOURCE_KINDS
