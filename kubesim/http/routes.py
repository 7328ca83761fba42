"""URL paths of the Kubernetes API, parsed as kube-apiserver's RequestInfoFactory does."""

from __future__ import annotations

from dataclasses import dataclass

# `namespaces/{name}/status` is the namespace's own subresource, not a resource in that namespace.
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True)
class ResourcePath:
    group: str
    version: str
    plural: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""


def parse_resource_path(path: str) -> ResourcePath | None:
    """`/apis/apps/v1/namespaces/ns/deployments/x/status` -> its parts; None for non-resource paths."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in _NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    return ResourcePath(group, version, rest[0], namespace, rest[1] if len(rest) > 1 else "",
                        rest[2] if len(rest) > 2 else "")


def method_verb(method: str, route: ResourcePath, watch: bool, content_type: str) -> str:
    """The Kubernetes verb of a request: get, list, watch, create, update, patch, apply, delete, ..."""
    named = bool(route.name)
    if method == "GET":
        if named:
            return "get"
        return "watch" if watch else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "apply" if content_type.split(";", 1)[0].strip().lower() == "application/apply-patch+yaml" else "patch"
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    return ""
