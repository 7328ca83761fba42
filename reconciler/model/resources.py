"""Identity of a Kubernetes object, and how this system marks the objects it owns.

Ownership reads the same as in Argo CD: the label `app.kubernetes.io/instance: <app>`
and the annotation `argocd.argoproj.io/tracking-id: <app>:<group>/<kind>:<ns>/<name>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TRACKING_LABEL = "app.kubernetes.io/instance"
TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"
SYNC_WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
HELM_HOOK_WEIGHT_ANNOTATION = "helm.sh/hook-weight"
HOOK_ANNOTATION = "argocd.argoproj.io/hook"
HELM_HOOK_ANNOTATION = "helm.sh/hook"
SYNC_OPTIONS_ANNOTATION = "argocd.argoproj.io/sync-options"
COMPARE_OPTIONS_ANNOTATION = "argocd.argoproj.io/compare-options"


def wave_annotation(obj: dict[str, Any]) -> tuple[str, Any] | None:
    """(annotation name, raw value) that gives the object's sync wave, None for wave 0.

    As gitops-engine's `syncwaves.Wave` does for every object, hook or not: the
    `argocd.argoproj.io/sync-wave` annotation, else Helm's `helm.sh/hook-weight`."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    for name in (SYNC_WAVE_ANNOTATION, HELM_HOOK_WEIGHT_ANNOTATION):
        if annotations.get(name) is not None:
            return name, annotations[name]
    return None


def split_api_version(api_version: str) -> tuple[str, str]:
    """`apps/v1` -> ("apps", "v1"); `v1` -> ("", "v1")."""
    group, _, version = api_version.rpartition("/")
    return group, version


@dataclass(frozen=True, order=True)
class ResourceKey:
    """group/kind/namespace/name: the identity of an object across API versions."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ResourceKey:
        group, _ = split_api_version(str(obj.get("apiVersion", "")))
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        return cls(group, str(obj.get("kind", "")), namespace, str(meta.get("name", "")))

    def tracking_id(self, app_name: str) -> str:
        return f"{app_name}:{self.group}/{self.kind}:{self.namespace}/{self.name}"

    @classmethod
    def from_tracking_id(cls, value: str) -> tuple[str, ResourceKey] | None:
        """Parse Argo CD's tracking id; None when it is not one."""
        try:
            app, rest = value.split(":", 1)
            group_kind, ns_name = rest.split(":", 1)
            group, kind = group_kind.split("/", 1)
            namespace, name = ns_name.split("/", 1)
        except ValueError:
            return None
        if not app or not kind or not name:
            return None
        return app, cls(group, kind, namespace, name)

    @property
    def inventory_id(self) -> str:
        """`group/kind/namespace/name`: how inventories and selective syncs name a resource."""
        return f"{self.group}/{self.kind}/{self.namespace}/{self.name}"

    @classmethod
    def from_inventory_id(cls, value: str) -> ResourceKey:
        parts = value.split("/")
        if len(parts) != 4 or not parts[1] or not parts[3]:
            raise ValueError(
                f"{value!r} does not name a resource: write group/kind/namespace/name, "
                "e.g. apps/Deployment/production/api or /ConfigMap/default/settings"
            )
        return cls(*parts)

    def __str__(self) -> str:
        gk = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{gk} {self.namespace}/{self.name}" if self.namespace else f"{gk} {self.name}"
