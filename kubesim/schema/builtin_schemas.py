"""The OpenAPI definitions of the built-in kinds, taken from a maintained source, not written by hand.

The source is the `kubernetes-validate` package (Apache-2.0), which bundles the definitions of
each Kubernetes release's OpenAPI document. kubesim claims Kubernetes 1.31 (see
`discovery.VERSION_INFO`), so the v1.31.0 set is loaded. That bundle rewrites the original
swagger for JSON Schema tools (nullable types as `["object", "null"]`, `$ref` under `$defs`,
IntOrString and Quantity as `oneOf`, an `enum` pinning apiVersion/kind); `_as_swagger` undoes
those rewrites so the result reads like kube-apiserver's own `/openapi/v2` definitions, with
descriptions and the `x-kubernetes-*` markers (group-version-kind, patch merge keys, list types).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

KUBERNETES_RELEASE = "v1.31.0"  # keep in step with discovery.VERSION_INFO
_SOURCE_DIR = f"{KUBERNETES_RELEASE}-local"

_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_REPLACED = {
    _INT_OR_STRING: {
        "description": "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML "
                       "marshalling and unmarshalling, it produces or consumes the inner type.  This allows you "
                       "to have, for example, a JSON field that can accept a name or number.",
        "type": "string", "format": "int-or-string"},
    _QUANTITY: {
        "description": "Quantity is a fixed-point representation of a number. It provides convenient "
                       "marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() "
                       "accessors.",
        "type": "string"},
}

Definitions = dict[str, dict[str, Any]]


def _as_swagger(node: Any) -> Any:
    """One schema node back in swagger 2.0 form (recursively)."""
    if isinstance(node, list):
        return [_as_swagger(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/$defs/", "#/definitions/")
        elif key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            out[key] = kinds[0] if len(kinds) == 1 else kinds
        elif key in ("properties", "patternProperties") and isinstance(value, dict):
            out[key] = {name: _as_swagger(v) for name, v in value.items()}
        else:
            out[key] = _as_swagger(value)
    return out


def _unpin_type_meta(definition: dict[str, Any]) -> None:
    """The bundle pins apiVersion/kind with an enum; the real document does not."""
    props = definition.get("properties") or {}
    for name in ("apiVersion", "kind"):
        if isinstance(props.get(name), dict):
            props[name].pop("enum", None)


@cache
def definitions() -> Definitions:
    """All definitions of the release, keyed like `io.k8s.api.apps.v1.Deployment` (do not mutate)."""
    source = resources.files("kubernetes_validate") / "kubernetes-json-schema" / _SOURCE_DIR / "_definitions.json"
    raw = json.loads(source.read_text(encoding="utf-8"))["$defs"]
    out: Definitions = {}
    for name, schema in raw.items():
        if name in _REPLACED:
            out[name] = dict(_REPLACED[name])
            continue
        converted = _as_swagger(schema)
        if converted.get("x-kubernetes-group-version-kind"):
            _unpin_type_meta(converted)
        out[name] = converted
    return out


@cache
def definition_by_gvk() -> dict[tuple[str, str, str], str]:
    """(group, version, kind) -> definition name, from each definition's x-kubernetes-group-version-kind."""
    index: dict[tuple[str, str, str], str] = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            key = (gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", ""))
            # DeleteOptions, WatchEvent and Status name many GVKs; the object kinds name one each.
            index.setdefault(key, name)
    return index


def referenced(names: list[str]) -> list[str]:
    """`names` and every definition they reach through `$ref`, in a stable order."""
    defs = definitions()
    seen: dict[str, None] = {}
    stack = list(reversed(names))
    while stack:
        name = stack.pop()
        if name in seen or name not in defs:
            continue
        seen[name] = None
        for ref in _refs_of(name):
            if ref not in seen:
                stack.append(ref)
    return list(seen)


@cache
def _refs_of(name: str) -> tuple[str, ...]:
    return tuple(_collect_refs(definitions()[name]))


def _collect_refs(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            found.append(ref[len("#/definitions/"):])
        for key, value in node.items():
            if key != "$ref":
                found.extend(_collect_refs(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_collect_refs(value))
    return found
