"""Discovery documents (/version, /api, /apis, /apis/G, /apis/G/V), rendered once per registry change."""

from __future__ import annotations

import json
import threading
from typing import Any

from kubesim.schema.catalogue import SUBRESOURCE_VERBS, ResourceType
from kubesim.schema.served_types import Registry

VERSION_INFO = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0",
    "gitCommit": "kubesim",
    "gitTreeState": "clean",
    "buildDate": "2024-08-13T00:00:00Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}

# Kind and verbs of subresources that are not "the object itself" (status is).
_SUBRESOURCE_SHAPES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    # name: (group, version, kind, verbs); empty kind = the parent's kind
    "scale": ("autoscaling", "v1", "Scale", SUBRESOURCE_VERBS["scale"]),
    "status": ("", "", "", SUBRESOURCE_VERBS["status"]),
    "finalize": ("", "", "", ("update",)),
    "ephemeralcontainers": ("", "", "", ("get", "patch", "update")),
    "log": ("", "", "", ("get",)),
    "eviction": ("policy", "v1", "Eviction", ("create",)),
    "binding": ("", "", "Binding", ("create",)),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ("create",)),
    "exec": ("", "", "PodExecOptions", ("create", "get")),
    "attach": ("", "", "PodAttachOptions", ("create", "get")),
    "portforward": ("", "", "PodPortForwardOptions", ("create", "get")),
    "proxy": ("", "", "", ("create", "delete", "get", "patch", "update")),
}


def _resource_entries(t: ResourceType) -> list[dict[str, Any]]:
    main: dict[str, Any] = {
        "name": t.plural,
        "singularName": t.singular_name,
        "namespaced": t.namespaced,
        "kind": t.kind,
        "verbs": list(t.verbs),
    }
    if t.short_names:
        main["shortNames"] = list(t.short_names)
    if t.categories:
        main["categories"] = list(t.categories)
    entries = [main]
    for sub in t.subresources:
        group, version, kind, verbs = _SUBRESOURCE_SHAPES.get(sub, ("", "", "", ("get",)))
        entry: dict[str, Any] = {"name": f"{t.plural}/{sub}", "singularName": "", "namespaced": t.namespaced}
        if group:
            entry["group"] = group
            entry["version"] = version
        entry["kind"] = kind or (f"{t.kind}ProxyOptions" if sub == "proxy" else t.kind)
        entry["verbs"] = list(verbs)
        entries.append(entry)
    return entries


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


class Discovery:
    """Serves the discovery documents as pre-encoded JSON, rebuilt when the registry changes."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._lock = threading.Lock()
        self._built_for = -1
        self._docs: dict[str, bytes] = {}
        self.version = _dump(VERSION_INFO)

    def document(self, path: str) -> bytes | None:
        """The JSON for a discovery path (`/api`, `/apis/apps/v1`, ...), or None if not served."""
        if self._built_for != self._registry.generation:
            self._build()
        return self._docs.get(path)

    def _build(self) -> None:
        with self._lock:
            generation = self._registry.generation
            if self._built_for == generation:
                return
            registry = self._registry
            docs: dict[str, bytes] = {
                "/api": _dump({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}),
            }
            groups: list[dict[str, Any]] = []
            for group, versions in registry.group_versions().items():
                for version in versions:
                    resources: list[dict[str, Any]] = []
                    for t in registry.types_in(group, version):
                        resources.extend(_resource_entries(t))
                    gv = f"{group}/{version}" if group else version
                    path = f"/apis/{gv}" if group else f"/api/{version}"
                    docs[path] = _dump({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                                        "resources": resources})
                if not group:
                    continue
                entry = {
                    "name": group,
                    "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
                    "preferredVersion": {"groupVersion": f"{group}/{versions[0]}", "version": versions[0]},
                }
                groups.append(entry)
                docs[f"/apis/{group}"] = _dump({"kind": "APIGroup", "apiVersion": "v1", **entry})
            docs["/apis"] = _dump({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
            self._docs = docs
            self._built_for = generation
