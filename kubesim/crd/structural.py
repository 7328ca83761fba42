"""Structural-schema rules a CustomResourceDefinition's `openAPIV3Schema` must meet to be accepted.

Per https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema:
apiextensions.k8s.io/v1 refuses a schema in which a specified field, array item or map value
has no `type` (unless it sets `x-kubernetes-int-or-string` or
`x-kubernetes-preserve-unknown-fields`), an array has no `items`, or the root is not an object.
The errors name the field like the apiserver does:
`spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be
empty for specified object fields`.
"""

from __future__ import annotations

from typing import Any

from kubesim.errors import FieldError


def _untyped_allowed(node: dict[str, Any]) -> bool:
    return bool(node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields"))


def _walk(node: Any, path: str, what: str, errors: list[FieldError]) -> None:
    if not isinstance(node, dict):
        return
    if not node.get("type") and not _untyped_allowed(node):
        errors.append(FieldError.required(f"{path}.type", f"must not be empty for specified {what}"))
    if node.get("type") == "array" and not isinstance(node.get("items"), dict):
        errors.append(FieldError.required(f"{path}.items", "must be specified"))
    for name, sub in (node.get("properties") or {}).items():
        _walk(sub, f"{path}.properties[{name}]", "object fields", errors)
    if isinstance(node.get("items"), dict):
        _walk(node["items"], f"{path}.items", "array items", errors)
    if isinstance(node.get("additionalProperties"), dict):
        _walk(node["additionalProperties"], f"{path}.additionalProperties", "object fields", errors)


def structural_errors(crd: dict[str, Any]) -> list[FieldError]:
    """Every structural-schema violation in the CRD's versions (none for a version without a schema)."""
    errors: list[FieldError] = []
    for index, version in enumerate((crd.get("spec") or {}).get("versions") or []):
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(schema, dict):
            continue
        path = f"spec.versions[{index}].schema.openAPIV3Schema"
        if schema.get("type") != "object":
            if schema.get("type"):
                errors.append(FieldError.invalid(f"{path}.type", schema["type"], "must be object at the root"))
            else:
                errors.append(FieldError.required(f"{path}.type", "must not be empty at the root"))
        for name, sub in (schema.get("properties") or {}).items():
            _walk(sub, f"{path}.properties[{name}]", "object fields", errors)
        if isinstance(schema.get("additionalProperties"), dict):
            _walk(schema["additionalProperties"], f"{path}.additionalProperties", "object fields", errors)
    return errors
