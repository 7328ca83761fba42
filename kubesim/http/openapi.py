"""`/openapi/v2` and `/openapi/v3` (index and one document per group/version), as kube-apiserver serves them.

Built-in kinds use the definitions of the release kubesim claims (builtin_schemas); custom
resources use their CRD's `openAPIV3Schema`, wrapped like the apiextensions-apiserver's
builder does (apiVersion, kind, metadata added; `x-kubernetes-group-version-kind` set).
Each resource gets paths whose operations carry `x-kubernetes-group-version-kind` and the
`fieldValidation` query parameter: kubectl reads exactly that to decide that the server
validates fields itself (cli-runtime's query param verifier). Documents are rendered once
per registry change and served as pre-encoded JSON.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from typing import Any

from kubesim.crd.rules import CRD_GROUP, CRD_PLURAL
from kubesim.http import openapi_proto
from kubesim.schema import builtin_schemas
from kubesim.schema.catalogue import ResourceType
from kubesim.schema.fieldvalidation import crd_version_schema
from kubesim.schema.served_types import Registry
from kubesim.storage.store import Store

_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
_STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
_PATCH = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
_SCALE = "io.k8s.api.autoscaling.v1.Scale"
_TYPE_META_DESCRIPTIONS = builtin_schemas.definitions()["io.k8s.api.core.v1.ConfigMap"]["properties"]

_QUERY_PARAMS = {
    "dryRun": "When present, indicates that modifications should not be persisted.",
    "fieldManager": "fieldManager is a name associated with the actor or entity that is making these changes.",
    "fieldValidation": "fieldValidation instructs the server on how to handle objects in the request "
                       "(POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - "
                       "Warn - Strict",
}
_PATCH_MEDIA = ("application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
                "application/strategic-merge-patch+json")


def _reverse_group(group: str) -> str:
    return ".".join(reversed(group.split("."))) if group else ""


def crd_definition_name(group: str, version: str, kind: str) -> str:
    """`widgets.example.com`/v1/Widget -> `com.example.v1.Widget`, the name the real builder gives it."""
    return f"{_reverse_group(group)}.{version}.{kind}"


def _custom_definition(rtype: ResourceType, schema: dict[str, Any]) -> dict[str, Any]:
    """The CRD's schema as the definition of its kind (apiVersion, kind and metadata filled in)."""
    out = copy.deepcopy(schema)
    out.setdefault("type", "object")
    props = out.setdefault("properties", {})
    props["apiVersion"] = dict(_TYPE_META_DESCRIPTIONS["apiVersion"])
    props["kind"] = dict(_TYPE_META_DESCRIPTIONS["kind"])
    props["metadata"] = {"$ref": f"#/definitions/{_OBJECT_META}",
                         "description": "Standard object's metadata. More info: https://git.k8s.io/community/"
                                        "contributors/devel/sig-architecture/api-conventions.md#metadata"}
    out["x-kubernetes-group-version-kind"] = [{"group": rtype.group, "kind": rtype.kind, "version": rtype.version}]
    return out


def _list_definition(rtype: ResourceType, item_ref: str) -> dict[str, Any]:
    return {
        "description": f"{rtype.list_kind_name} is a list of {rtype.kind}",
        "required": ["items"],
        "type": "object",
        "properties": {
            "apiVersion": dict(_TYPE_META_DESCRIPTIONS["apiVersion"]),
            "items": {"description": f"List of {rtype.plural}.", "type": "array",
                      "items": {"$ref": f"#/definitions/{item_ref}"}},
            "kind": dict(_TYPE_META_DESCRIPTIONS["kind"]),
            "metadata": {"$ref": f"#/definitions/{_LIST_META}"},
        },
        "x-kubernetes-group-version-kind": [{"group": rtype.group, "kind": rtype.list_kind_name,
                                             "version": rtype.version}],
    }


def _param(name: str, description: str, v3: bool) -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "query", "description": description, "uniqueItems": True}
    if v3:
        param["schema"] = {"type": "string"}
    else:
        param["type"] = "string"
    return param


def _operation(action: str, rtype: ResourceType, kind_ref: str, v3: bool, *, body: bool = False,
               media: tuple[str, ...] = ("application/json",), gvk_kind: str = "") -> dict[str, Any]:
    gvk = {"group": rtype.group, "version": rtype.version, "kind": gvk_kind or rtype.kind}
    op_id = f"{action}{rtype.kind}"
    op: dict[str, Any] = {
        "description": f"{action} the specified {rtype.kind}",
        "operationId": op_id,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
        "parameters": [],
    }
    if body:
        op["parameters"] = [_param(n, d, v3) for n, d in _QUERY_PARAMS.items()]
    ok = {"$ref": f"#/definitions/{kind_ref}"}
    if v3:
        op["responses"] = {"200": {"description": "OK", "content": {"application/json": {"schema": ok}}}}
        if body:
            body_ref = {"$ref": f"#/definitions/{_PATCH if action == 'patch' else kind_ref}"}
            op["requestBody"] = {"content": {m: {"schema": body_ref} for m in media}, "required": True}
    else:
        op["responses"] = {"200": {"description": "OK", "schema": ok}}
        op["consumes"] = list(media)
        op["produces"] = ["application/json"]
        if body:
            body_ref = {"$ref": f"#/definitions/{_PATCH if action == 'patch' else kind_ref}"}
            op["parameters"].insert(0, {"name": "body", "in": "body", "required": True, "schema": body_ref})
    return op


def _paths(rtype: ResourceType, kind_ref: str, list_ref: str, v3: bool) -> dict[str, Any]:
    prefix = f"/apis/{rtype.group}/{rtype.version}" if rtype.group else f"/api/{rtype.version}"
    base = f"{prefix}/namespaces/{{namespace}}/{rtype.plural}" if rtype.namespaced else f"{prefix}/{rtype.plural}"
    item = {
        "get": _operation("get", rtype, kind_ref, v3),
        "put": _operation("put", rtype, kind_ref, v3, body=True),
        "patch": _operation("patch", rtype, kind_ref, v3, body=True, media=_PATCH_MEDIA),
        "delete": _operation("delete", rtype, _STATUS, v3),
    }
    collection = {
        "get": _operation("list", rtype, list_ref, v3, gvk_kind=rtype.kind),
        "post": _operation("post", rtype, kind_ref, v3, body=True),
    }
    paths = {base: collection, f"{base}/{{name}}": item}
    if "status" in rtype.subresources:
        paths[f"{base}/{{name}}/status"] = {k: v for k, v in item.items() if k != "delete"}
    if "scale" in rtype.subresources:
        paths[f"{base}/{{name}}/scale"] = {
            "get": _operation("get", rtype, _SCALE, v3, gvk_kind="Scale"),
            "put": _operation("put", rtype, _SCALE, v3, body=True, gvk_kind="Scale"),
            "patch": _operation("patch", rtype, _SCALE, v3, body=True, media=_PATCH_MEDIA, gvk_kind="Scale"),
        }
        for op in paths[f"{base}/{{name}}/scale"].values():
            op["x-kubernetes-group-version-kind"] = {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    return paths


def _to_v3(node: Any) -> Any:
    """Swagger 2 schema -> OpenAPI 3 component schema: refs moved, a described `$ref` wrapped in allOf."""
    if isinstance(node, list):
        return [_to_v3(v) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"].replace("#/definitions/", "#/components/schemas/")
        rest = {k: _to_v3(v) for k, v in node.items() if k != "$ref"}
        return {**rest, "allOf": [{"$ref": ref}]} if rest else {"$ref": ref}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties") and isinstance(value, dict):
            out[key] = {name: _to_v3(v) for name, v in value.items()}
        else:
            out[key] = _to_v3(value)
    return out


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


class OpenAPI:
    """Renders the OpenAPI documents from the registry and the stored CRDs, cached per registry generation."""

    def __init__(self, registry: Registry, store: Store) -> None:
        self._registry = registry
        self._store = store
        self._lock = threading.Lock()
        self._built_for = -1
        self._docs: dict[str, bytes] = {}
        self._v2: dict[str, Any] = {}
        self._v2_proto: bytes | None = None

    def document(self, path: str, accept: str = "") -> tuple[bytes, str] | None:
        """(body, content type) of `/openapi/v2`, `/openapi/v3` or `/openapi/v3/apis/G/V`, or None.

        `/openapi/v2` answers protobuf when the client lists the protobuf type first, as client-go does."""
        if self._built_for != self._registry.generation:
            self._build()
        path = path.rstrip("/")
        if path == "/openapi/v2" and accept.split(",", 1)[0].strip().startswith(openapi_proto.PROTOBUF_MEDIA_TYPE):
            if self._v2_proto is None:
                self._v2_proto = openapi_proto.document(self._v2)
            return self._v2_proto, openapi_proto.PROTOBUF_CONTENT_TYPE
        doc = self._docs.get(path)
        return None if doc is None else (doc, "application/json")

    # -------------------------------------------------------------- building
    def _crds(self) -> dict[tuple[str, str], dict[str, Any]]:
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for crd in self._store.list((CRD_GROUP, CRD_PLURAL), None):
            spec = crd.get("spec") or {}
            out[(spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))] = crd
        return out

    def _kind_definitions(self) -> dict[tuple[str, str, str], tuple[str, str, dict[str, dict[str, Any]]]]:
        """(group, version, plural) -> (kind definition name, list definition name, definitions it adds)."""
        by_gvk = builtin_schemas.definition_by_gvk()
        crds = self._crds()
        out: dict[tuple[str, str, str], tuple[str, str, dict[str, dict[str, Any]]]] = {}
        for rtype in self._registry.types:
            key = (rtype.group, rtype.version, rtype.plural)
            if rtype.custom:
                crd = crds.get((rtype.group, rtype.plural))
                schema = crd_version_schema(crd, rtype.version) if crd else None
                name = crd_definition_name(rtype.group, rtype.version, rtype.kind)
                list_name = crd_definition_name(rtype.group, rtype.version, rtype.list_kind_name)
                added = {name: _custom_definition(rtype, schema or {"type": "object",
                                                                     "x-kubernetes-preserve-unknown-fields": True}),
                         list_name: _list_definition(rtype, name)}
                out[key] = (name, list_name, added)
                continue
            name = by_gvk.get((rtype.group, rtype.version, rtype.kind))
            list_name = by_gvk.get((rtype.group, rtype.version, rtype.list_kind_name))
            if name is None or list_name is None:
                continue  # not in the release's document (kubesim serves nothing it lacks)
            out[key] = (name, list_name, {})
        return out

    def _build(self) -> None:
        with self._lock:
            generation = self._registry.generation
            if self._built_for == generation:
                return
            builtin = builtin_schemas.definitions()
            kinds = self._kind_definitions()
            v2_paths: dict[str, Any] = {}
            v2_added: dict[str, dict[str, Any]] = {}
            per_gv: dict[str, tuple[dict[str, Any], list[str], dict[str, dict[str, Any]]]] = {}
            for rtype in self._registry.types:
                entry = kinds.get((rtype.group, rtype.version, rtype.plural))
                if entry is None:
                    continue
                name, list_name, added = entry
                v2_paths.update(_paths(rtype, name, list_name, v3=False))
                v2_added.update(added)
                gv = f"apis/{rtype.group}/{rtype.version}" if rtype.group else f"api/{rtype.version}"
                paths, roots, extra = per_gv.setdefault(gv, ({}, [], {}))
                paths.update(_paths(rtype, name, list_name, v3=True))
                roots.extend(n for n in (name, list_name, _STATUS, _PATCH) if n in builtin)
                roots.extend(["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", _OBJECT_META, _LIST_META])
                if "scale" in rtype.subresources:
                    roots.append(_SCALE)
                extra.update(added)
            info = {"title": "Kubernetes", "version": builtin_schemas.KUBERNETES_RELEASE}
            v2 = {"swagger": "2.0", "info": info, "paths": v2_paths, "definitions": {**builtin, **v2_added}}
            docs = {"/openapi/v2": _dump(v2)}
            index: dict[str, Any] = {}
            for gv, (paths, roots, extra) in per_gv.items():
                schemas = {n: builtin[n] for n in builtin_schemas.referenced(roots)}
                schemas.update(extra)
                doc = _dump({"openapi": "3.0.0", "info": info, "paths": _to_v3(paths),
                             "components": {"schemas": _to_v3(schemas)}})
                digest = hashlib.sha512(doc).hexdigest()[:128].upper()
                docs[f"/openapi/v3/{gv}"] = doc
                index[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={digest}"}
            docs["/openapi/v3"] = _dump({"paths": index})
            self._docs = docs
            self._v2, self._v2_proto = v2, None
            self._built_for = generation
