"""Which resource types are served right now: the built-in catalogue plus those of CRDs.

A resource is stored once per (group, plural) whatever version it is read through;
serving it under another version only rewrites `apiVersion` (no schema conversion).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

from kubesim.schema.catalogue import BUILTIN_TYPES, ResourceType

_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key putting the version Kubernetes prefers first: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > foo."""
    match = _KUBE_VERSION.match(version)
    if not match:
        return (3, 0, 0, version)
    major, stage, minor = int(match[1]), match[2], int(match[3] or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, version)


def crd_types(crd: dict[str, Any]) -> list[ResourceType]:
    """The resource types a CustomResourceDefinition serves (one per served version)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, kind, plural = spec.get("group", ""), names.get("kind", ""), names.get("plural", "")
    out: list[ResourceType] = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        sub = version.get("subresources") or {}
        out.append(ResourceType(
            group=group, version=version.get("name", ""), plural=plural, kind=kind,
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            singular=names.get("singular") or kind.lower(),
            short_names=tuple(names.get("shortNames") or ()),
            subresources=tuple(s for s in ("scale", "status") if s in sub),
            generation=True, categories=tuple(names.get("categories") or ()), custom=True,
            list_kind=names.get("listKind") or f"{kind}List",
        ))
    return out


def crd_storage_version(crd: dict[str, Any]) -> str:
    versions = (crd.get("spec") or {}).get("versions") or []
    for version in versions:
        if version.get("storage"):
            return str(version.get("name", ""))
    return str(versions[0].get("name", "")) if versions else ""


class Registry:
    """Lookup of served types by group/version/plural and by apiVersion/kind; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._crds: dict[str, list[ResourceType]] = {}  # CRD name -> its types
        self._crd_storage: dict[str, str] = {}  # CRD name -> storage version
        self.generation = 0  # bumped on every change so discovery caches know to rebuild
        self._rebuild()

    def _rebuild(self) -> None:
        types = list(BUILTIN_TYPES)
        for crd_list in self._crds.values():
            types.extend(crd_list)
        self.types: tuple[ResourceType, ...] = tuple(types)
        self.by_gvr = {(t.group, t.version, t.plural): t for t in types}
        self.by_gvk = {(t.group, t.version, t.kind): t for t in types}
        self.by_gk: dict[tuple[str, str], ResourceType] = {}
        self.by_gr: dict[tuple[str, str], ResourceType] = {}
        # the first version listed for a group/kind is the one objects are stored in
        for t in sorted(types, key=lambda t: version_priority(t.version)):
            self.by_gk.setdefault((t.group, t.kind), t)
            self.by_gr.setdefault((t.group, t.plural), t)
        for name, crd_list in self._crds.items():
            for t in crd_list:
                if t.version == self._crd_storage.get(name):
                    self.by_gr[(t.group, t.plural)] = t
        self.generation += 1

    def set_crd(self, name: str, types: Iterable[ResourceType], storage_version: str = "") -> None:
        with self._lock:
            self._crds[name] = list(types)
            self._crd_storage[name] = storage_version
            self._rebuild()

    def remove_crd(self, name: str) -> None:
        with self._lock:
            self._crd_storage.pop(name, None)
            if self._crds.pop(name, None) is not None:
                self._rebuild()

    def reset(self) -> None:
        with self._lock:
            self._crds.clear()
            self._crd_storage.clear()
            self._rebuild()

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self.by_gvr.get((group, version, plural))

    def for_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        return self.by_gvk.get((group, version, kind))

    def storage_type(self, group: str, plural: str) -> ResourceType | None:
        return self.by_gr.get((group, plural))

    def group_versions(self) -> dict[str, list[str]]:
        """Group -> served versions, preferred first, groups in catalogue order."""
        out: dict[str, list[str]] = {}
        for t in self.types:
            versions = out.setdefault(t.group, [])
            if t.version not in versions:
                versions.append(t.version)
        return {g: sorted(v, key=version_priority) for g, v in out.items()}

    def types_in(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self.types if t.group == group and t.version == version]
