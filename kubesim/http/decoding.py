"""Type errors of the API server's JSON decoder for built-in kinds (a number where a string belongs, ...).

Built-in objects are decoded into Go structs, so a value of the wrong JSON type fails the whole
request with 400 BadRequest, whatever `fieldValidation` says:
`Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal number into
Go struct field EnvVar.spec.template.spec.containers.env.value of type string` (the struct that
holds the field, then the field's path without list indices, then its Go type). Only the first
error is reported, as encoding/json does. Types with their own unmarshallers (IntOrString,
Quantity, Time) are not checked here.
"""

from __future__ import annotations

from typing import Any

from kubesim.schema.shapes import Shape, item_path

_INT_RANGE = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _scalar_mismatch(value: Any, go_type: str) -> str | None:
    """What the decoder says it could not unmarshal ("number", "number 1.5", ...), or None when it fits."""
    if value is None:
        return None  # null leaves a Go field at its zero value
    kind = _json_kind(value)
    if go_type == "string":
        return None if kind == "string" else kind
    if go_type == "bool":
        return None if kind == "bool" else kind
    if go_type == "float64":
        return None if kind == "number" else kind
    if kind != "number":
        return kind
    low, high = _INT_RANGE[go_type]
    if (isinstance(value, float) and not value.is_integer()) or not low <= value <= high:
        return f"number {value}"
    return None


def _container_mismatch(value: Any, shape: Shape) -> bool:
    if value is None:
        return False
    if shape.is_list:
        return not isinstance(value, list)
    return not isinstance(value, dict)


def _message(found: str, owner: str, path: str, go_type: str) -> str:
    return f"json: cannot unmarshal {found} into Go struct field {owner}.{path} of type {go_type}"


def type_error(obj: dict[str, Any], shape: Shape | None) -> str | None:
    """The decoder's message for the first value of the wrong type in a built-in object, or None."""
    if shape is None or not shape.go_type:
        return None
    return _check(obj, shape, "", shape.go_type.rsplit(".", 1)[-1])


def _check(value: Any, shape: Shape, path: str, owner: str) -> str | None:
    if isinstance(value, dict) and shape.fields is not None:
        struct = shape.go_type.rsplit(".", 1)[-1]
        scalars = shape.scalars or {}
        for key, sub in value.items():
            field_path = f"{path}.{key}" if path else key
            go_scalar = scalars.get(key)
            if go_scalar:
                found = _scalar_mismatch(sub, go_scalar)
                if found:
                    return _message(found, struct, field_path, go_scalar)
                continue
            child = shape.fields.get(key)
            if child is None or not child.go_type or sub is None:
                continue
            if _container_mismatch(sub, child):
                return _message(_json_kind(sub), struct, field_path, child.go_type)
            error = _check(sub, child, field_path, struct)
            if error:
                return error
    elif isinstance(value, list) and shape.is_list:
        for item in value:
            error = _element(item, shape.item, shape.item_scalar, path, owner)
            if error:
                return error
    elif isinstance(value, dict) and shape.is_map:
        for item in value.values():
            error = _element(item, shape.values, shape.value_scalar, path, owner)
            if error:
                return error
    return None


def _element(item: Any, shape: Shape | None, go_scalar: str, path: str, owner: str) -> str | None:
    """One list item or map value: checked against its scalar type or its own shape."""
    if go_scalar:
        found = _scalar_mismatch(item, go_scalar)
        return _message(found, owner, path, go_scalar) if found else None
    if shape is None or not shape.go_type or item is None:
        return None
    if _container_mismatch(item, shape):
        return _message(_json_kind(item), owner, path, shape.go_type)
    return _check(item, shape, path, owner)


# ----------------------------------------------------------- server-side apply
def _go_value_syntax(value: Any) -> str:
    """A JSON scalar as Go's %#v prints the interface{} inside structured-merge-diff's value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "map[string]interface {}{...}"
    if isinstance(value, list):
        return "[]interface {}{...}"
    return str(value)


def _go_type_name(value: Any) -> str:
    """Go's %T of the unstructured form of a JSON value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def _smd_mismatch(value: Any, go_type: str) -> str | None:
    """structured-merge-diff's validateScalar message for a value its schema types otherwise, or None."""
    if value is None:
        return None
    if go_type in ("int32", "int64", "float64"):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return None
        return f"expected numeric (int or float), got {_go_type_name(value)}"
    if go_type == "string":
        return None if isinstance(value, str) else \
            f"expected string, got &value.valueUnstructured{{Value:{_go_value_syntax(value)}}}"
    if go_type == "bool":
        return None if isinstance(value, bool) else f"expected boolean, got &{{{_go_value_syntax(value)}}}"
    return None


def apply_type_errors(applied: dict[str, Any], shape: Shape | None) -> list[str]:
    """`.spec.replicas: expected numeric (int or float), got string` for each mistyped scalar of an applied object."""
    errors: list[str] = []

    def walk(value: Any, node: Shape | None, path: str) -> None:
        if node is None:
            return
        if isinstance(value, dict) and node.fields is not None:
            scalars = node.scalars or {}
            for key, sub in value.items():
                child_path = f"{path}.{key}"
                if key in scalars:
                    message = _smd_mismatch(sub, scalars[key])
                    if message:
                        errors.append(f"{child_path}: {message}")
                else:
                    walk(sub, node.fields.get(key), child_path)
        elif isinstance(value, dict) and node.is_map:
            for key, sub in value.items():
                if node.value_scalar:
                    message = _smd_mismatch(sub, node.value_scalar)
                    if message:
                        errors.append(f"{path}.{key}: {message}")
                else:
                    walk(sub, node.values, f"{path}.{key}")
        elif isinstance(value, list) and node.is_list:
            for index, item in enumerate(value):
                where = item_path(path, index, item, node.list_keys)
                if node.item_scalar:
                    message = _smd_mismatch(item, node.item_scalar)
                    if message:
                        errors.append(f"{where}: {message}")
                else:
                    walk(item, node.item, where)

    walk(applied, shape, "")
    return errors
