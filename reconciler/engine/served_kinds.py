"""Whether the cluster serves a desired object's kind, and what to say when it does not (a CRD
of the app that a sync applies first, SkipDryRunOnMissingResource, or an error naming the CRD)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.engine.cluster import Cluster, UnknownKindError
from reconciler.engine.diff.resource_diff import annotation_options
from reconciler.model import Application
from reconciler.model.resources import SYNC_OPTIONS_ANNOTATION, ResourceKey

CRD_GROUP = "apiextensions.k8s.io"


def crd_kinds_of(objects: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """(group, kind) -> CRD name, for every CustomResourceDefinition among `objects`."""
    found: dict[tuple[str, str], str] = {}
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition" or not str(obj.get("apiVersion", "")).startswith(
            f"{CRD_GROUP}/"
        ):
            continue
        spec = obj.get("spec") or {}
        kind = (spec.get("names") or {}).get("kind") if isinstance(spec, dict) else None
        if kind and spec.get("group"):
            found[(str(spec["group"]), str(kind))] = str((obj.get("metadata") or {}).get("name", ""))
    return found


def served(cluster: Cluster, manifest: Mapping[str, Any]) -> bool:
    """The cluster serves the manifest's apiVersion and kind (discovery refreshed on a miss, at
    most once every few seconds per kind: a compare may ask this for many objects of one kind)."""
    try:
        cluster.resource_type(
            str(manifest.get("apiVersion", "")), str(manifest.get("kind", "")), trust_recent_miss=True
        )
    except UnknownKindError:
        return False
    return True


def skips_dry_run_on_missing(app: Application, manifest: Mapping[str, Any]) -> bool:
    """SkipDryRunOnMissingResource=true on the resource or the app."""
    if app.sync_policy.option_enabled("SkipDryRunOnMissingResource"):
        return True
    options = annotation_options(dict(manifest), SYNC_OPTIONS_ANNOTATION)
    return options.get("SkipDryRunOnMissingResource", "").lower() == "true"


def crd_name_for(key: ResourceKey, manifest: Mapping[str, Any]) -> str:
    """The CRD that would serve `key`'s kind, as Kubernetes names CRDs: <plural>.<group>
    (the plural guessed as the lower-case kind + s, which the message says)."""
    return f"{key.kind.lower()}s.{key.group}" if key.group else key.kind


def not_served_error(key: ResourceKey, manifest: Mapping[str, Any]) -> str:
    """What to do about a desired object whose kind no CRD (of the app or the cluster) serves."""
    return (
        f"the cluster serves no kind {key.kind} in apiVersion {manifest.get('apiVersion', '')}: install its "
        f"CustomResourceDefinition (usually named {crd_name_for(key, manifest)}) or add it to this app; or set "
        f"{SYNC_OPTIONS_ANNOTATION}: SkipDryRunOnMissingResource=true to let a sync wait for it"
    )
