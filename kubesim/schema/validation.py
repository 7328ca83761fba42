"""Validation of built-in objects on create and update: a narrow, faithful subset.

Checks and messages follow k8s.io/kubernetes pkg/apis/*/validation and
k8s.io/apimachinery/pkg/util/validation: object names, labels and annotations (of the object
and of its pod template; kubesim/schema/metadata_validation.py), the fields a workload or
Service cannot do without, and the fields that may not change after creation. What is
not checked here is accepted, as a lenient server would; nothing valid is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kubesim.errors import FieldError, Invalid, format_value
from kubesim.schema.metadata_validation import metadata_errors

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_1123_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_LABEL_1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
_CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)

_RBAC_GROUP = "rbac.authorization.k8s.io"
_POD_TEMPLATE_WORKLOADS = {
    ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet"),
}


def validate(obj: dict[str, Any], old: dict[str, Any] | None, group: str, kind: str) -> None:
    """Raise Invalid (422) listing every problem found in `obj` (an update when `old` is given)."""
    errors: list[FieldError] = []
    errors.extend(_name_errors(obj, group, kind))
    errors.extend(metadata_errors(obj.get("metadata")))
    template_at = _TEMPLATE_METADATA.get((group, kind))
    if template_at is not None:
        errors.extend(metadata_errors(_at(obj, template_at), ".".join(template_at)))
    checker = _BY_KIND.get((group, kind))
    if checker is not None:
        errors.extend(checker(obj, old))
    if errors:
        name = str((obj.get("metadata") or {}).get("name", ""))
        raise Invalid(kind, name, errors, group)


# Where a kind's pod template keeps its ObjectMeta, validated like the object's own.
_TEMPLATE_METADATA: dict[tuple[str, str], tuple[str, ...]] = {
    **{workload: ("spec", "template", "metadata") for workload in _POD_TEMPLATE_WORKLOADS},
    ("batch", "Job"): ("spec", "template", "metadata"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template", "metadata"),
}


def _at(obj: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        obj = obj.get(step) if isinstance(obj, dict) else None
    return obj


# ---------------------------------------------------------------------------------------------
# Names


def _dns_errors(field: str, value: str, pattern: re.Pattern[str], message: str, limit: int) -> list[FieldError]:
    errors: list[FieldError] = []
    if len(value) > limit:
        errors.append(FieldError.invalid(field, value, f"must be no more than {limit} characters"))
    if not pattern.match(value):
        errors.append(FieldError.invalid(field, value, message))
    return errors


def _path_segment_errors(field: str, value: str) -> list[FieldError]:
    if value in (".", ".."):
        return [FieldError.invalid(field, value, f"may not be '{value}'")]
    return [FieldError.invalid(field, value, f"may not contain '{bad}'") for bad in ("/", "%") if bad in value]


def _name_errors(obj: dict[str, Any], group: str, kind: str) -> list[FieldError]:
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name:
        if meta.get("generateName"):
            return []
        return [FieldError.required("metadata.name", "name or generateName is required")]
    if not isinstance(name, str):
        return [FieldError.invalid("metadata.name", name, "must be a string")]
    if group == _RBAC_GROUP:
        return _path_segment_errors("metadata.name", name)
    if (group, kind) == ("", "Namespace"):
        return _dns_errors("metadata.name", name, _LABEL_1123, _LABEL_1123_MSG, 63)
    if (group, kind) == ("", "Service"):
        return _dns_errors("metadata.name", name, _LABEL_1035, _LABEL_1035_MSG, 63)
    return _dns_errors("metadata.name", name, _SUBDOMAIN, _SUBDOMAIN_MSG, 253)


# ---------------------------------------------------------------------------------------------
# Pod specs and workloads


def _pod_spec_errors(spec: Any, at: str) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [FieldError.required(at)]
    containers = spec.get("containers")
    if not containers:
        return [FieldError.required(f"{at}.containers")]
    errors: list[FieldError] = []
    seen: set[str] = set()
    for number, container in enumerate(containers):
        where = f"{at}.containers[{number}]"
        if not isinstance(container, dict):
            errors.append(FieldError.invalid(where, container, "must be an object"))
            continue
        name = container.get("name")
        if not name:
            errors.append(FieldError.required(f"{where}.name"))
        elif name in seen:
            errors.append(FieldError(f"{where}.name", f"Duplicate value: {_quoted(name)}"))
        else:
            seen.add(name)
            errors.extend(_dns_errors(f"{where}.name", str(name), _LABEL_1123, _LABEL_1123_MSG, 63))
        if not container.get("image"):
            errors.append(FieldError.required(f"{where}.image"))
        for index, port in enumerate(container.get("ports") or []):
            number_at = f"{where}.ports[{index}].containerPort"
            value = (port or {}).get("containerPort")
            if value is None:
                errors.append(FieldError.required(number_at))
            elif not isinstance(value, int) or not 1 <= value <= 65535:
                errors.append(FieldError.invalid(number_at, value, "must be between 1 and 65535, inclusive"))
    return errors


def _quoted(value: Any) -> str:
    return format_value(value)


def _matches(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        present = key in labels
        if operator == "In" and (not present or labels[key] not in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _workload_errors(obj: dict[str, Any], old: dict[str, Any] | None, kind: str) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    replicas = spec.get("replicas")
    if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
        errors.append(FieldError.invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
    selector = spec.get("selector")
    template = spec.get("template")
    if not isinstance(selector, dict):
        errors.append(FieldError.required("spec.selector"))
    elif not selector.get("matchLabels") and not selector.get("matchExpressions"):
        errors.append(FieldError.invalid("spec.selector", selector, f"empty selector is invalid for {kind.lower()}"))
    if not isinstance(template, dict):
        errors.append(FieldError.required("spec.template"))
    else:
        labels = (template.get("metadata") or {}).get("labels") or {}
        if isinstance(selector, dict) and (selector.get("matchLabels") or selector.get("matchExpressions")) \
                and not _matches(selector, labels):
            errors.append(FieldError.invalid("spec.template.metadata.labels", labels,
                                             "`selector` does not match template `labels`"))
        pod_spec = template.get("spec")
        errors.extend(_pod_spec_errors(pod_spec, "spec.template.spec"))
        policy = (pod_spec or {}).get("restartPolicy") if isinstance(pod_spec, dict) else None
        if policy is not None and policy != "Always":
            errors.append(FieldError.not_supported("spec.template.spec.restartPolicy", policy, ["Always"]))
    if old is not None:
        old_spec = old.get("spec") or {}
        if kind == "StatefulSet":
            errors.extend(_stateful_set_update_errors(spec, old_spec))
        elif selector != old_spec.get("selector"):
            errors.append(FieldError.immutable("spec.selector", selector))
    return errors


_STATEFUL_SET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy",
                         "persistentVolumeClaimRetentionPolicy", "minReadySeconds")


def _stateful_set_update_errors(spec: dict[str, Any], old_spec: dict[str, Any]) -> list[FieldError]:
    def frozen(value: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in value.items() if k not in _STATEFUL_SET_MUTABLE}

    if frozen(spec) == frozen(old_spec):
        return []
    return [FieldError.forbidden(
        "spec",
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
        "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    )]


def _apps_checker(kind: str) -> Callable[[dict[str, Any], dict[str, Any] | None], list[FieldError]]:
    def check(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
        return _workload_errors(obj, old, kind)

    return check


def _pod_errors(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    return _pod_spec_errors(obj.get("spec"), "spec")


def _job_errors(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    spec = obj.get("spec") or {}
    template = spec.get("template")
    if not isinstance(template, dict):
        return [FieldError.required("spec.template")]
    pod_spec = template.get("spec")
    errors = _pod_spec_errors(pod_spec, "spec.template.spec")
    policy = pod_spec.get("restartPolicy") if isinstance(pod_spec, dict) else None
    if policy not in ("OnFailure", "Never"):
        errors.append(FieldError.not_supported("spec.template.spec.restartPolicy", policy or "",
                                               ["OnFailure", "Never"]))
    if old is not None:
        old_spec = old.get("spec") or {}
        for field in ("selector", "template", "completionMode"):
            if spec.get(field) != old_spec.get(field):
                errors.append(FieldError.immutable(f"spec.{field}", spec.get(field)))
    return errors


def _cron_job_errors(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    if not spec.get("schedule"):
        errors.append(FieldError.required("spec.schedule"))
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = job_spec.get("template")
    pod_spec = template.get("spec") if isinstance(template, dict) else None
    errors.extend(_pod_spec_errors(pod_spec, "spec.jobTemplate.spec.template.spec"))
    return errors


# ---------------------------------------------------------------------------------------------
# Services, claims, configuration


_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def _service_errors(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    service_type = spec.get("type", "ClusterIP")
    if service_type not in _SERVICE_TYPES:
        errors.append(FieldError.not_supported("spec.type", service_type, _SERVICE_TYPES))
    ports = spec.get("ports") or []
    if service_type == "ExternalName":
        if not spec.get("externalName"):
            errors.append(FieldError.required("spec.externalName"))
    elif not ports and spec.get("clusterIP") != "None":
        errors.append(FieldError.required("spec.ports"))
    names: set[str] = set()
    for index, port in enumerate(ports):
        at = f"spec.ports[{index}]"
        port = port if isinstance(port, dict) else {}
        name = port.get("name")
        if len(ports) > 1 and not name:
            errors.append(FieldError.required(f"{at}.name"))
        elif name and name in names:
            errors.append(FieldError(f"{at}.name", f"Duplicate value: {_quoted(name)}"))
        if name:
            names.add(name)
        number = port.get("port")
        if number is None:
            errors.append(FieldError.required(f"{at}.port"))
        elif not isinstance(number, int) or not 1 <= number <= 65535:
            errors.append(FieldError.invalid(f"{at}.port", number, "must be between 1 and 65535, inclusive"))
    if old is not None:
        errors.extend(_cluster_ip_update_errors(spec, old.get("spec") or {}))
    return errors


def _cluster_ip_update_errors(spec: dict[str, Any], old_spec: dict[str, Any]) -> list[FieldError]:
    # Changing to or from ExternalName releases/allocates the address; otherwise it is fixed.
    if "ExternalName" in (spec.get("type", "ClusterIP"), old_spec.get("type", "ClusterIP")):
        return []
    old_ips, new_ips = old_spec.get("clusterIPs") or [], spec.get("clusterIPs") or []
    if old_ips and new_ips and old_ips[0] != new_ips[0]:
        return [FieldError.invalid("spec.clusterIPs[0]", new_ips, "may not change once set")]
    old_ip, new_ip = old_spec.get("clusterIP"), spec.get("clusterIP")
    if old_ip and new_ip and old_ip != new_ip:
        return [FieldError.immutable("spec.clusterIP", new_ip)]
    return []


def _claim_errors(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    if old is None:
        return []
    spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}

    def frozen(value: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in value.items() if k not in ("volumeAttributesClassName",)}
        if not previous.get("volumeName"):
            out.pop("volumeName", None)  # binding sets it once
        resources = dict(out.get("resources") or {})
        resources.pop("requests", None)
        out["resources"] = resources
        return out

    if frozen(spec, old_spec) == frozen(old_spec, old_spec):
        return []
    return [FieldError.forbidden(
        "spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName "
        "for bound claims")]


def _immutable_data_errors(obj: dict[str, Any], old: dict[str, Any] | None,
                           fields: tuple[str, ...]) -> list[FieldError]:
    if old is None or not old.get("immutable"):
        return []
    errors: list[FieldError] = []
    message = "field is immutable when `immutable` is set"
    if not obj.get("immutable"):
        errors.append(FieldError.forbidden("immutable", message))
    for field in fields:
        if (obj.get(field) or {}) != (old.get(field) or {}):
            errors.append(FieldError.forbidden(field, message))
    return errors


def _key_errors(obj: dict[str, Any], fields: tuple[str, ...]) -> list[FieldError]:
    errors: list[FieldError] = []
    for field in fields:
        for key in obj.get(field) or {}:
            if len(key) > 253:
                errors.append(FieldError.invalid(f"{field}[{key}]", key, "must be no more than 253 characters"))
            if not _CONFIG_KEY.match(key):
                errors.append(FieldError.invalid(f"{field}[{key}]", key, _CONFIG_KEY_MSG))
    return errors


def _config_map_errors(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    fields = ("data", "binaryData")
    return _key_errors(obj, fields) + _immutable_data_errors(obj, old, fields)


def _secret_errors(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    errors = _key_errors(obj, ("data",)) + _immutable_data_errors(obj, old, ("data",))
    if old is not None and obj.get("type", "Opaque") != old.get("type", "Opaque"):
        errors.append(FieldError.immutable("type", obj.get("type")))
    return errors


_Checker = Callable[[dict[str, Any], dict[str, Any] | None], list[FieldError]]

_BY_KIND: dict[tuple[str, str], _Checker] = {
    ("", "Pod"): _pod_errors,
    ("", "Service"): _service_errors,
    ("", "PersistentVolumeClaim"): _claim_errors,
    ("", "ConfigMap"): _config_map_errors,
    ("", "Secret"): _secret_errors,
    ("batch", "Job"): _job_errors,
    ("batch", "CronJob"): _cron_job_errors,
    **{(group, kind): _apps_checker(kind) for group, kind in _POD_TEMPLATE_WORKLOADS},
}
