"""Custom resources against their CRD's structural schema: defaulting, then validation, as apiextensions-apiserver does.

Per https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
(sections "Defaulting", "Validation", "Validation rules"): `default` fills missing properties of
objects that are present; then type, format-free OpenAPI keywords (minimum/maximum and their
exclusive forms, minLength/maxLength, minItems/maxItems, enum, pattern, required, nullable,
`x-kubernetes-int-or-string`) and CEL `x-kubernetes-validations` are checked. Messages are the
field errors kube-apiserver returns inside its 422 (`spec.replicas: Invalid value: 0:
spec.replicas in body should be greater than or equal to 1`). Pruning is done before this, by
fieldvalidation (unknown fields).
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

from kubesim.errors import FieldError, format_value
from kubesim.schema import cel_rules, formats

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object", list: "array"}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), "object")


@cache
def _pattern(expr: str) -> re.Pattern[str] | None:
    try:
        return re.compile(expr)
    except re.error:
        return None


def apply_defaults(value: Any, schema: dict[str, Any] | None) -> None:
    """Fill `default`s of missing properties, recursively, in place."""
    if not schema:
        return
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for name, sub in props.items():
            if name not in value and isinstance(sub, dict) and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                apply_defaults(value[name], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for name, sub_value in value.items():
                if name not in props:
                    apply_defaults(sub_value, additional)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])


def _type_ok(value: Any, expected: str) -> bool:
    actual = json_type(value)
    if expected == "number":
        return actual in ("number", "integer")
    if expected == "integer" and isinstance(value, float):
        return value.is_integer()
    return actual == expected


def validate(value: Any, schema: dict[str, Any] | None, path: str, errors: list[FieldError],
             old: Any = None, has_old: bool = False) -> None:
    """Append a FieldError for every rule `value` breaks; `old` is the previous value (transition rules)."""
    if not schema:
        return
    if value is None:
        if not schema.get("nullable") and schema.get("type"):
            errors.append(FieldError.invalid(path, "null", f"{path} in body must be of type {schema['type']}: "
                                                           '"null"'))
        return
    expected = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if json_type(value) not in ("integer", "string"):
            errors.append(FieldError.invalid(path, json_type(value), f"{path} in body must be of type "
                                                                     f'integer,string: "{json_type(value)}"'))
            return
    elif expected and not _type_ok(value, expected):
        errors.append(FieldError.invalid(path, json_type(value),
                                         f'{path} in body must be of type {expected}: "{json_type(value)}"'))
        return
    before = len(errors)
    _scalar_rules(value, schema, path, errors)
    if isinstance(value, dict):
        _object_rules(value, schema, path, errors, old if isinstance(old, dict) else None, has_old)
    elif isinstance(value, list):
        _list_rules(value, schema, path, errors)
    if len(errors) == before and schema.get("x-kubernetes-validations"):
        errors.extend(cel_rules.check(schema, value, old, has_old and old is not None, path,
                                      expected or json_type(value)))


def _scalar_rules(value: Any, schema: dict[str, Any], path: str, errors: list[FieldError]) -> None:
    if "enum" in schema and value not in schema["enum"]:
        errors.append(FieldError.not_supported(path, value, [_enum_text(v) for v in schema["enum"]]))
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None:
            if schema.get("exclusiveMinimum") and value <= low:
                errors.append(FieldError.invalid(path, value, f"{path} in body should be greater than {_num(low)}"))
            elif value < low:
                errors.append(FieldError.invalid(path, value,
                                                 f"{path} in body should be greater than or equal to {_num(low)}"))
        if high is not None:
            if schema.get("exclusiveMaximum") and value >= high:
                errors.append(FieldError.invalid(path, value, f"{path} in body should be less than {_num(high)}"))
            elif value > high:
                errors.append(FieldError.invalid(path, value,
                                                 f"{path} in body should be less than or equal to {_num(high)}"))
        step = schema.get("multipleOf")
        if step and (value / step) != int(value / step):
            errors.append(FieldError.invalid(path, value, f"{path} in body should be a multiple of {_num(step)}"))
    if isinstance(value, str):
        if schema.get("minLength") is not None and len(value) < schema["minLength"]:
            errors.append(FieldError.invalid(path, value,
                                             f"{path} in body should be at least {schema['minLength']} chars long"))
        if schema.get("maxLength") is not None and len(value) > schema["maxLength"]:
            errors.append(FieldError(path, f"Too long: may not be longer than {schema['maxLength']}"))
        fmt = schema.get("format")
        if fmt and formats.violates(value, str(fmt)):
            errors.append(FieldError.invalid(path, value, f'{path} in body must be of type {fmt}: "{value}"'))
        pattern = schema.get("pattern")
        if pattern and (compiled := _pattern(pattern)) is not None and not compiled.search(value):
            errors.append(FieldError.invalid(path, value, f"{path} in body should match '{pattern}'"))


def _object_rules(value: dict[str, Any], schema: dict[str, Any], path: str, errors: list[FieldError],
                  old: dict[str, Any] | None, has_old: bool) -> None:
    for name in schema.get("required") or []:
        if name not in value:
            errors.append(FieldError.required(f"{path}.{name}" if path else name))
    if schema.get("x-kubernetes-embedded-resource"):
        # An embedded object must say what it is (apiextensions ValidateEmbeddedResource).
        for name in ("apiVersion", "kind"):
            if not value.get(name):
                errors.append(FieldError.required(f"{path}.{name}", "must not be empty"))
    props = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for name, sub_value in value.items():
        sub_schema = props.get(name)
        if sub_schema is None and isinstance(additional, dict):
            sub_schema = additional
        if sub_schema is None:
            continue
        child_has_old = has_old and old is not None and name in old
        validate(sub_value, sub_schema, f"{path}.{name}" if path else name, errors,
                 old.get(name) if child_has_old and old is not None else None, child_has_old)


def _list_rules(value: list[Any], schema: dict[str, Any], path: str, errors: list[FieldError]) -> None:
    if schema.get("minItems") is not None and len(value) < schema["minItems"]:
        errors.append(FieldError.invalid(path, len(value),
                                         f"{path} in body should have at least {schema['minItems']} items"))
    if schema.get("maxItems") is not None and len(value) > schema["maxItems"]:
        errors.append(FieldError(path, f"Too many: {len(value)}: must have at most {schema['maxItems']} items"))
    _list_type_rules(value, schema, path, errors)
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            validate(item, items, f"{path}[{index}]", errors)


def _list_type_rules(value: list[Any], schema: dict[str, Any], path: str, errors: list[FieldError]) -> None:
    """`x-kubernetes-list-type: set` items and `map` keys must be unique (apiextensions listtype validation)."""
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set":
        seen: list[Any] = []
        for index, item in enumerate(value):
            if item in seen:
                errors.append(FieldError(f"{path}[{index}]", f"Duplicate value: {format_value(item)}"))
            else:
                seen.append(item)
    elif list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        seen_keys: list[tuple[Any, ...]] = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            key = tuple(item.get(k) for k in keys)
            if key in seen_keys:
                described = ", ".join(f'"{k}":{format_value(item.get(k))}' for k in keys if k in item)
                errors.append(FieldError(f"{path}[{index}]",
                                         f"Duplicate value: map[string]interface {{}}{{{described}}}"))
            else:
                seen_keys.append(key)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _enum_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def default_and_validate(obj: dict[str, Any], schema: dict[str, Any] | None, old: dict[str, Any] | None
                         ) -> list[FieldError]:
    """Default `obj` in place, then return its validation errors (metadata, apiVersion and kind excluded)."""
    if not schema:
        return []
    apply_defaults(obj, schema)
    errors: list[FieldError] = []
    props = schema.get("properties") or {}
    for name in schema.get("required") or []:
        if name not in obj:
            errors.append(FieldError.required(name))
    for name, value in obj.items():
        if name in ("apiVersion", "kind", "metadata") or name not in props:
            continue
        has_old = old is not None and name in old
        validate(value, props[name], name, errors, (old or {}).get(name), has_old)
    if not errors and schema.get("x-kubernetes-validations"):
        body = {k: v for k, v in obj.items()}
        errors.extend(cel_rules.check(schema, body, old, old is not None, "", "object"))
    return errors
