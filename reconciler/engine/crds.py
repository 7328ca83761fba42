"""CustomResourceDefinitions and their instances: what deleting a CRD would take with it."""

from __future__ import annotations

from typing import Any

from reconciler.engine.cluster import Cluster, UnknownKindError
from reconciler.engine.compare import owned_by
from reconciler.model.resources import ResourceKey


def foreign_instances(cluster: Cluster, app_name: str, crd: dict[str, Any]) -> list[str]:
    """Objects of the CRD's kind that `app_name` does not own: the API server deletes every
    instance with its CRD, so deleting it would delete these too."""
    spec = crd.get("spec") or {}
    group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
    versions = [v.get("name") for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("served", True)]
    if not group or not kind or not versions:
        return []
    try:
        items = cluster.list(f"{group}/{versions[0]}", kind)
    except UnknownKindError:
        return []
    return [str(ResourceKey.of(item)) for item in items if not owned_by(item, app_name)]
