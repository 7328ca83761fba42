"""Which fields an object may carry, compiled from an OpenAPI schema into a small tree walked on every write.

One compiler serves the built-in definitions (swagger `$ref`s, resolved lazily so recursive
types such as JSONSchemaProps terminate) and CRD `openAPIV3Schema`s. A node says whether a
value is an object with known fields, a map (`additionalProperties`), a list (with its
list-map keys, for paths like `containers[name="web"]`), or anything (`None`: no schema,
`x-kubernetes-preserve-unknown-fields`, RawExtension).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubesim.schema import builtin_schemas

_REF = "#/definitions/"
_METADATA_FIELDS = ("apiVersion", "kind", "metadata")


@dataclass(eq=False)
class Shape:
    """fields: known keys (None: not an object with fixed keys); values: schema of map values."""

    fields: dict[str, Shape | None] | None = None
    values: Shape | None = None
    is_map: bool = False
    item: Shape | None = None
    is_list: bool = False
    list_keys: tuple[str, ...] = ()
    preserve: bool = False
    embedded: bool = False  # x-kubernetes-embedded-resource: apiVersion/kind/metadata allowed
    # Go types of built-in kinds, for the decoder's type errors (decoding.py): the type of this
    # value (`v1.DeploymentSpec`, `[]v1.Container`) and of its plain scalar fields, items or values.
    go_type: str = ""
    scalars: dict[str, str] | None = None
    item_scalar: str = ""
    value_scalar: str = ""


_builtin_cache: dict[str, Shape | None] = {}


def builtin_shape(definition: str) -> Shape | None:
    """The shape of a built-in definition such as `io.k8s.api.apps.v1.Deployment`."""
    if definition in _builtin_cache:
        return _builtin_cache[definition]
    schema = builtin_schemas.definitions().get(definition)
    if schema is None:
        _builtin_cache[definition] = None
        return None
    if not schema.get("properties") and not isinstance(schema.get("additionalProperties"), dict) \
            and schema.get("type") != "array":
        _builtin_cache[definition] = None  # free-form (RawExtension, FieldsV1, JSON) or a scalar type
        return None
    parts = definition.split(".")
    shape = Shape(go_type=f"{parts[-2]}.{parts[-1]}")
    _builtin_cache[definition] = shape  # before filling it: recursive definitions refer back to it
    _fill(shape, schema)
    return shape


def _go_scalar(schema: dict[str, Any] | None) -> str:
    """The Go type a plain scalar schema decodes into ("" for anything else, or a custom unmarshaller)."""
    if not schema or "$ref" in schema or schema.get("format") in ("int-or-string", "date-time", "byte"):
        return ""
    kind = schema.get("type")
    if kind == "string":
        return "string"
    if kind == "integer":
        return "int32" if schema.get("format") == "int32" else "int64"
    if kind == "boolean":
        return "bool"
    if kind == "number":
        return "float64"
    return ""


def compile_schema(schema: dict[str, Any] | None) -> Shape | None:
    """The shape of a (CRD) schema node; None when anything goes."""
    if not schema:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF):
        return builtin_shape(ref[len(_REF):])
    all_of = schema.get("allOf")
    if all_of and len(all_of) == 1 and isinstance(all_of[0], dict) and "$ref" in all_of[0]:
        return compile_schema(all_of[0])
    kind = schema.get("type")
    props = schema.get("properties")
    additional = schema.get("additionalProperties")
    if kind == "array" or "items" in schema:
        if not isinstance(schema.get("items"), dict):
            return None
    elif not props and not schema.get("x-kubernetes-embedded-resource") and (
            schema.get("x-kubernetes-preserve-unknown-fields") or not isinstance(additional, dict)):
        return None
    shape = Shape()
    _fill(shape, schema)
    return shape


def _fill(shape: Shape, schema: dict[str, Any]) -> None:
    if schema.get("type") == "array" or "items" in schema:
        shape.is_list = True
        shape.item = compile_schema(schema.get("items"))
        shape.list_keys = tuple(schema.get("x-kubernetes-list-map-keys") or ())
        shape.item_scalar = _go_scalar(schema.get("items"))
        element = shape.item.go_type if shape.item is not None else shape.item_scalar
        shape.go_type = shape.go_type or (f"[]{element}" if element else "")
        return
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict) and not schema.get("properties"):
        shape.is_map = True
        shape.values = compile_schema(additional)
        shape.value_scalar = _go_scalar(additional)
        element = shape.values.go_type if shape.values is not None else shape.value_scalar
        shape.go_type = shape.go_type or (f"map[string]{element}" if element else "")
        return
    shape.preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    shape.embedded = bool(schema.get("x-kubernetes-embedded-resource"))
    fields: dict[str, Shape | None] = {name: compile_schema(sub) for name, sub in
                                       (schema.get("properties") or {}).items()}
    scalars = {name: _go_scalar(sub) for name, sub in (schema.get("properties") or {}).items()}
    shape.scalars = {name: go for name, go in scalars.items() if go} or None
    if shape.embedded:
        for name in _METADATA_FIELDS:
            fields.setdefault(name, builtin_shape("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
                              if name == "metadata" else None)
    shape.fields = fields


def custom_resource_shape(schema: dict[str, Any] | None) -> Shape | None:
    """The shape of a custom resource: its CRD schema plus apiVersion, kind and metadata (ObjectMeta)."""
    root = dict(schema or {})
    if not schema:  # a version without a schema keeps whatever it is given
        root["x-kubernetes-preserve-unknown-fields"] = True
    props = dict(root.get("properties") or {})
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    props["metadata"] = {"$ref": f"{_REF}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    root["properties"] = props
    root["type"] = "object"
    shape = Shape()
    _fill(shape, root)
    return shape


def item_path(path: str, index: int, item: Any, keys: tuple[str, ...]) -> str:
    """A list item as server-side apply names it: `[name=\"web\"]` by its keys, else `[0]`."""
    if keys and isinstance(item, dict) and all(k in item for k in keys):
        if len(keys) == 1:
            return f"{path}[{keys[0]}={_go_quote(item[keys[0]])}]"
        return f"{path}[" + ",".join(f"{k}={_go_quote(item[k])}" for k in keys) + "]"
    return f"{path}[{index}]"


def _go_quote(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def prune(value: Any, shape: Shape | None, path: str, found: list[str], keyed_paths: bool = False) -> None:
    """Remove the fields `shape` does not declare from `value` (in place), recording each one's path.

    Paths read like the API server's: `spec.replicaz`, `spec.template.spec.containers[0].imagez`
    (or `containers[name="web"]` with keyed_paths, as server-side apply names them)."""
    if shape is None:
        return
    if isinstance(value, dict):
        if shape.is_map:
            if shape.values is not None:
                for key, sub in value.items():
                    prune(sub, shape.values, f"{path}.{key}" if path else key, found, keyed_paths)
            return
        fields = shape.fields
        if fields is None:
            return
        for key in list(value):
            child_path = f"{path}.{key}" if path else key
            if key in fields:
                child = fields[key]
                if child is not None:
                    prune(value[key], child, child_path, found, keyed_paths)
            elif not shape.preserve:
                found.append(child_path)
                del value[key]
    elif isinstance(value, list) and shape.is_list and shape.item is not None:
        for index, item in enumerate(value):
            where = item_path(path, index, item, shape.list_keys) if keyed_paths else f"{path}[{index}]"
            prune(item, shape.item, where, found, keyed_paths)
