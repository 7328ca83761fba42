"""Strategic-merge-patch metadata of built-in kinds, read from the server's OpenAPI v3 documents
(`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`), as kubectl reads them.

    OpenApiSchemas(fetch).for_kind(api_version, kind) -> SchemaNode

`fetch(path)` GETs a path of the API server and returns the decoded JSON. Documents are read
once per group/version and kept: built-in schemas do not change while a server runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from reconciler.model.resources import split_api_version

JsonObj = dict[str, Any]

# The API groups compiled into kube-apiserver (kubectl knows them from its scheme): only these
# take a strategic merge patch; custom resources, even in a *.k8s.io group, take a merge patch.
BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "autoscaling", "policy", "admissionregistration.k8s.io", "apiextensions.k8s.io",
    "apiregistration.k8s.io", "authentication.k8s.io", "authorization.k8s.io", "certificates.k8s.io",
    "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io", "networking.k8s.io", "node.k8s.io", "rbac.authorization.k8s.io",
    "resource.k8s.io", "scheduling.k8s.io", "storage.k8s.io", "storagemigration.k8s.io",
})


def is_builtin(api_version: str) -> bool:
    return split_api_version(api_version)[0] in BUILTIN_GROUPS


class SchemaNode:
    """One field's schema: its own patch extensions, and the resolved type below it."""

    def __init__(self, raw: JsonObj | None, components: JsonObj) -> None:
        self._raw = raw or {}
        self._components = components

    @property
    def merge_key(self) -> str:
        return str(self._raw.get("x-kubernetes-patch-merge-key") or "")

    @property
    def strategy(self) -> str:
        return str(self._raw.get("x-kubernetes-patch-strategy") or "")

    def _resolved(self) -> JsonObj:
        node = self._raw
        for _ in range(8):  # $ref chains are short; a loop guards against a cyclic document
            ref = node.get("$ref")
            if not ref and len(node.get("allOf") or []) == 1:
                ref = (node["allOf"][0] or {}).get("$ref")
            if not ref:
                return node
            node = self._components.get(str(ref).rsplit("/", 1)[-1]) or {}
        return node

    def child(self, key: str) -> SchemaNode:
        resolved = self._resolved()
        prop = (resolved.get("properties") or {}).get(key)
        if prop is None and isinstance(resolved.get("additionalProperties"), dict):
            prop = resolved["additionalProperties"]
        return SchemaNode(prop, self._components)

    def item(self) -> SchemaNode:
        return SchemaNode(self._resolved().get("items"), self._components)


class OpenApiSchemas:
    def __init__(self, fetch: Callable[[str], JsonObj]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._documents: dict[str, JsonObj] = {}

    def _document(self, api_version: str) -> JsonObj:
        group, version = split_api_version(api_version)
        path = f"/openapi/v3/apis/{group}/{version}" if group else f"/openapi/v3/api/{version}"
        with self._lock:
            doc = self._documents.get(path)
            if doc is None:
                doc = self._fetch(path)
                self._documents[path] = doc
            return doc

    def for_kind(self, api_version: str, kind: str) -> SchemaNode:
        """The schema of a kind; a kind the document does not describe gets an empty schema
        (every list then counts as atomic, which is what a patch without metadata does)."""
        group, version = split_api_version(api_version)
        components = (self._document(api_version).get("components") or {}).get("schemas") or {}
        for schema in components.values():
            for gvk in schema.get("x-kubernetes-group-version-kind") or []:
                if gvk.get("group", "") == group and gvk.get("version") == version and gvk.get("kind") == kind:
                    return SchemaNode(schema, components)
        return SchemaNode({}, components)
