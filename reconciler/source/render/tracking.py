"""Marking rendered objects as the application's own, and giving them a namespace.

Every namespaced object without a namespace gets the destination namespace; every
object gets Argo CD's tracking label and annotation, so ownership reads the same
here as in Argo CD. Child `Application`/`AppProject` objects (app-of-apps) are
registered by the workers, not applied: they keep their namespace and get only the
annotation, which names the parent that owns them.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import Any

from reconciler.model.resources import TRACKING_ANNOTATION, TRACKING_LABEL, ResourceKey, split_api_version

ARGO_GROUP = "argoproj.io"
CHILD_APP_KINDS = frozenset({"Application", "AppProject", "ApplicationSet"})

# Built-in kinds that live outside namespaces (Kubernetes 1.31); discovery adds the rest.
CLUSTER_SCOPED_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("node.k8s.io", "RuntimeClass"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("authentication.k8s.io", "TokenReview"),
        ("authentication.k8s.io", "SelfSubjectReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "ResourceSlice"),
    }
)


def group_kind(obj: dict[str, Any]) -> tuple[str, str]:
    group, _ = split_api_version(str(obj.get("apiVersion", "")))
    return group, str(obj.get("kind", ""))


def is_cluster_scoped(obj: dict[str, Any], extra: Collection[tuple[str, str]] = ()) -> bool:
    key = group_kind(obj)
    return key in CLUSTER_SCOPED_KINDS or key in extra


def is_child_application(obj: dict[str, Any]) -> bool:
    group, kind = group_kind(obj)
    return group == ARGO_GROUP and kind in CHILD_APP_KINDS


def default_namespace(
    obj: dict[str, Any], namespace: str, cluster_scoped: Collection[tuple[str, str]] = ()
) -> dict[str, Any]:
    """A copy of `obj` with its namespace settled.

    Namespaced objects without one get `namespace`; cluster-scoped objects lose any
    they carry, because the API server drops it too and identities must match.
    """
    result = copy.deepcopy(obj)
    if is_child_application(result):
        return result
    metadata = result.setdefault("metadata", {})
    if is_cluster_scoped(result, cluster_scoped):
        metadata.pop("namespace", None)
    elif not metadata.get("namespace") and namespace:
        metadata["namespace"] = namespace
    return result


def mark_tracked(obj: dict[str, Any], app_name: str) -> dict[str, Any]:
    """A copy of `obj` with the tracking annotation and (unless a child app) the label."""
    result = copy.deepcopy(obj)
    metadata = result.setdefault("metadata", {})
    if not is_child_application(result):
        metadata["labels"] = {**(metadata.get("labels") or {}), TRACKING_LABEL: app_name}
    tracking_id = ResourceKey.of(result).tracking_id(app_name)
    metadata["annotations"] = {**(metadata.get("annotations") or {}), TRACKING_ANNOTATION: tracking_id}
    return result
