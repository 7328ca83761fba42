"""CustomResourceDefinition rules: validation, and the Terminating condition (naming/establishing: crd_lifecycle)."""

from __future__ import annotations

from typing import Any

from kubesim.errors import FieldError, Invalid

CRD_GROUP = "apiextensions.k8s.io"
CRD_PLURAL = "customresourcedefinitions"
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


def validate_crd(crd: dict[str, Any]) -> None:
    """The checks of apiextensions validation a reconciler can trip over; 422 on failure."""
    name = (crd.get("metadata") or {}).get("name", "")
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    errors: list[FieldError] = []
    if not spec.get("group"):
        errors.append(FieldError.required("spec.group"))
    if not names.get("plural"):
        errors.append(FieldError.required("spec.names.plural"))
    if not names.get("kind"):
        errors.append(FieldError.required("spec.names.kind"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errors.append(FieldError.not_supported("spec.scope", spec.get("scope", ""), ["Cluster", "Namespaced"]))
    if spec.get("group") and names.get("plural") and name != f"{names['plural']}.{spec['group']}":
        errors.append(FieldError.invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    versions = spec.get("versions") or []
    if not versions:
        errors.append(FieldError.invalid("spec.versions", versions, "must have exactly one version marked as "
                                                                    "storage version"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        errors.append(FieldError.invalid("spec.versions", [v.get("name") for v in versions],
                                         "must have exactly one version marked as storage version"))
    if errors:
        raise Invalid("CustomResourceDefinition", name, errors, group=CRD_GROUP)


def terminating_status(status: dict[str, Any], now: str) -> dict[str, Any]:
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "Terminating"]
    conditions.append({"type": "Terminating", "status": "True", "lastTransitionTime": now,
                       "reason": "InstanceDeletionInProgress", "message": "CustomResource deletion is in progress"})
    return {**status, "conditions": conditions}
