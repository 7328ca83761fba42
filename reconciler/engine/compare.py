"""Desired objects against the live cluster: per-resource diff and health, the app's status.

    compare(cluster, app, desired) -> Comparison

Called only by the compare pipeline (reconciler/engine/pipeline.py). The only writes to
the cluster here are dry-runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.cluster import Cluster, KubeError, UnknownKindError
from reconciler.engine.diff.resource_diff import (
    AppSyncStatus,
    CompareMode,
    ResourceDiff,
    ResourceSyncStatus,
    app_sync_status,
    diff_resource,
)
from reconciler.engine.health.rules.configured import ignore_differences_for
from reconciler.engine.live_view import LiveRecord, LiveView, live_fingerprint
from reconciler.health import Health, assess, missing, worst
from reconciler.model import Application, ResourceIgnoreDifferences
from reconciler.model.resources import TRACKING_ANNOTATION, ResourceKey, split_api_version
from reconciler.source.render.tracking import ARGO_GROUP, CHILD_APP_KINDS

RenderCache = tuple[Callable[[str], list[dict[str, Any]] | None], Callable[[str, list[dict[str, Any]]], None]]


def is_child_app(obj: Mapping[str, Any]) -> bool:
    group, _ = split_api_version(str(obj.get("apiVersion", "")))
    return group == ARGO_GROUP and obj.get("kind") in CHILD_APP_KINDS


def manifest_hash(obj: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class DesiredState:
    revision: str
    objects: list[dict[str, Any]]  # resources to apply, in render order
    child_apps: list[dict[str, Any]] = field(default_factory=list)  # Application/AppProject manifests
    cache_hit: bool = False


@dataclass(frozen=True)
class ResourceState:
    diff: ResourceDiff
    health: Health | None  # None for Extra objects, which are not the app's health
    live_uid: str = ""
    live_resource_version: str = ""
    error: str = ""  # a dry-run that failed: why this object cannot be applied as it is

    @property
    def key(self) -> ResourceKey:
        return self.diff.key


@dataclass(frozen=True)
class Comparison:
    revision: str
    resources: list[ResourceState]
    sync_status: AppSyncStatus
    health: Health
    # key -> "liveFingerprint:manifestHash" of objects found Synced: a later compare may
    # call them Synced again without a dry-run while both stay the same.
    verified: dict[str, str]
    dry_runs: int = 0
    # Where the live state came from: "watch" (the watcher's index, no LIST) or
    # "list: <why the watcher's index could not answer>".
    live_source: str = "list"

    @property
    def diffs(self) -> list[ResourceDiff]:
        return [r.diff for r in self.resources]

    @property
    def errors(self) -> list[str]:
        return [f"{r.key}: {r.error}" for r in self.resources if r.error]


def compare_with_inventory(
    cluster: Cluster,
    app: Application,
    desired: DesiredState,
    inventory: Mapping[str, Mapping[str, Any]],
    verified: Mapping[str, str] | None = None,
    live_view: LiveView | None = None,
) -> Comparison:
    """`compare`, looking for prune candidates among the kinds and namespaces the app's
    inventory (what it applied before) names."""
    return compare(
        cluster,
        app,
        desired,
        live_types={(str(e.get("apiVersion", "")), str(e.get("kind", ""))) for e in inventory.values()},
        live_namespaces={str(e.get("namespace") or "") for e in inventory.values()},
        verified=verified,
        live_view=live_view,
    )


def owned_by(obj: Mapping[str, Any], app_name: str) -> bool:
    """The tracking annotation names this app and this very object (not a copy of another's)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    parsed = ResourceKey.from_tracking_id(str(annotations.get(TRACKING_ANNOTATION, "")))
    if parsed is None:
        return False
    app, key = parsed
    return app == app_name and key == ResourceKey.of(obj)


def compare(
    cluster: Cluster,
    app: Application,
    desired: DesiredState,
    *,
    live_types: Iterable[tuple[str, str]] | None = (),
    live_namespaces: Iterable[str] = (),
    verified: Mapping[str, str] | None = None,
    live_view: LiveView | None = None,
) -> Comparison:
    """Diff the desired objects against the cluster and assess health.

    `live_types`: (apiVersion, kind) pairs to look for prune candidates besides the desired
    kinds (the app's inventory); None looks at every kind the cluster serves.
    `live_namespaces`: where the app's objects may be besides the desired ones' namespaces (the
    inventory's), for clusters whose RBAC allows no cluster-wide LIST.
    `verified`: from the last Comparison; objects whose resourceVersion and manifest are
    unchanged are Synced without asking the server for a dry-run.
    `live_view`: the watcher's index; when it vouches for every kind and namespace involved, the
    app's objects come from it (no LIST) and an object it shows unchanged since verified
    costs no request at all. Otherwise the cluster is LISTed by label as before.
    """
    verified = verified or {}
    # System-level resource.customizations.ignoreDifferences first, then the app's own.
    ignore = ignore_differences_for(app.ignore_differences)
    desired_by_key = {ResourceKey.of(obj): obj for obj in desired.objects}
    types: set[tuple[str, str]] | None = None
    if live_types is not None:
        types = {(str(o["apiVersion"]), str(o["kind"])) for o in desired.objects} | set(live_types)
    namespaces = {key.namespace for key in desired_by_key} | set(live_namespaces) | {app.destination.namespace}
    if live_view is not None and types is not None:
        records = live_view.tracked(app.name, {(split_api_version(v)[0], k) for v, k in types}, namespaces)
        if records is not None:
            return _compare_from_index(cluster, app, desired, desired_by_key, records, verified, ignore)
    live_by_key = {
        ResourceKey.of(obj): obj
        for obj in cluster.list_tracked(app.name, types, namespaces=namespaces)
        if owned_by(obj, app.name)
    }
    states: list[ResourceState] = []
    new_verified: dict[str, str] = {}
    dry_runs = 0
    for key in sorted(set(desired_by_key) | set(live_by_key)):
        manifest = desired_by_key.get(key)
        live = live_by_key.get(key)
        if manifest is None:
            states.append(_extra(key, live, ignore))
            continue
        if live is None:
            # Not labelled as ours, but it may exist (created by hand or by another tool).
            meta = manifest.get("metadata") or {}
            live = _get_quietly(cluster, manifest, meta)
        fingerprint = ""
        if live is not None:
            fingerprint = f"{live_fingerprint(live)}:{manifest_hash(manifest)}"
            if verified.get(str(key)) == fingerprint:
                diff = diff_resource(key, manifest, live, ignore, mode="subset")
                if diff.status == ResourceSyncStatus.SYNCED:
                    new_verified[str(key)] = fingerprint
                    states.append(_state(diff, live))
                    continue
        dry_runs += 1
        dry, mode, error = _dry_run(cluster, manifest)
        diff = diff_resource(key, dry, live, ignore, mode=mode)
        if diff.status == ResourceSyncStatus.SYNCED and fingerprint:
            new_verified[str(key)] = fingerprint
        states.append(_state(diff, live, error))
    sync = app_sync_status(s.diff for s in states)
    app_health = worst(s.health for s in states if s.health is not None)
    return Comparison(
        revision=desired.revision,
        resources=states,
        sync_status=sync,
        health=app_health,
        verified=new_verified,
        dry_runs=dry_runs,
        live_source=f"list: {live_view.source}" if live_view is not None else "list",
    )


def _compare_from_index(
    cluster: Cluster,
    app: Application,
    desired: DesiredState,
    desired_by_key: Mapping[ResourceKey, dict[str, Any]],
    records: Mapping[ResourceKey, LiveRecord],
    verified: Mapping[str, str],
    ignore: tuple[ResourceIgnoreDifferences, ...],
) -> Comparison:
    """`compare` on the watcher's index. An object unchanged since it was verified Synced is
    Synced again with no request; anything else is fetched (GET) and dry-run as on the LIST
    path, so a verdict other than "unchanged" always comes from the server."""
    states: list[ResourceState] = []
    new_verified: dict[str, str] = {}
    dry_runs = 0
    for key in sorted(set(desired_by_key) | set(records)):
        manifest = desired_by_key.get(key)
        record = records.get(key)
        if manifest is None:
            assert record is not None
            live = _get_quietly(cluster, {"apiVersion": record.api_version, "kind": key.kind},
                                {"namespace": key.namespace or None, "name": key.name})
            if live is not None and owned_by(live, app.name):  # gone or disowned since the watch saw it
                states.append(_extra(key, live, ignore))
            continue
        fingerprint = f"{record.fingerprint}:{manifest_hash(manifest)}" if record else ""
        if record is not None and verified.get(str(key)) == fingerprint:
            new_verified[str(key)] = fingerprint
            states.append(ResourceState(
                # Unchanged since the dry-run that found it Synced: nothing new to show.
                diff=ResourceDiff(key, ResourceSyncStatus.SYNCED, desired=None, live=_stub(record), text=""),
                health=record.health,
                live_uid=record.uid,
                live_resource_version=record.resource_version,
            ))
            continue
        meta = manifest.get("metadata") or {}
        live = _get_quietly(cluster, manifest, meta)
        dry_runs += 1
        dry, mode, error = _dry_run(cluster, manifest)
        diff = diff_resource(key, dry, live, ignore, mode=mode)
        if diff.status == ResourceSyncStatus.SYNCED and live is not None:
            new_verified[str(key)] = f"{live_fingerprint(live)}:{manifest_hash(manifest)}"
        states.append(_state(diff, live, error))
    return Comparison(
        revision=desired.revision,
        resources=states,
        sync_status=app_sync_status(s.diff for s in states),
        health=worst(s.health for s in states if s.health is not None),
        verified=new_verified,
        dry_runs=dry_runs,
        live_source="watch",
    )


def _stub(record: LiveRecord) -> dict[str, Any]:
    key = record.key
    meta = {"name": key.name, "uid": record.uid, "resourceVersion": record.resource_version}
    if key.namespace:
        meta["namespace"] = key.namespace
    return {"apiVersion": record.api_version, "kind": key.kind, "metadata": meta}


def _state(diff: ResourceDiff, live: dict[str, Any] | None, error: str = "") -> ResourceState:
    meta = (live or {}).get("metadata") or {}
    health = assess(live) if live is not None else missing()
    return ResourceState(
        diff=diff,
        health=health,
        live_uid=str(meta.get("uid", "")),
        live_resource_version=str(meta.get("resourceVersion", "")),
        error=error,
    )


def _extra(
    key: ResourceKey, live: dict[str, Any] | None, ignore: tuple[ResourceIgnoreDifferences, ...]
) -> ResourceState:
    diff = diff_resource(key, None, live, ignore)
    meta = (live or {}).get("metadata") or {}
    return ResourceState(
        diff=diff,
        health=None,
        live_uid=str(meta.get("uid", "")),
        live_resource_version=str(meta.get("resourceVersion", "")),
    )


def _get_quietly(cluster: Cluster, manifest: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any] | None:
    try:
        api_version, kind = str(manifest["apiVersion"]), str(manifest["kind"])
        return cluster.get(api_version, kind, meta.get("namespace"), meta["name"])
    except UnknownKindError:
        return None  # its CRD is not installed yet; a sync installs it first


def _dry_run(cluster: Cluster, manifest: dict[str, Any]) -> tuple[dict[str, Any], CompareMode, str]:
    """The server's answer to applying `manifest`, or the manifest itself when the server
    cannot answer yet (its namespace or CRD will be created by the same sync)."""
    try:
        return cluster.apply(manifest, dry_run=True), "exact", ""
    except UnknownKindError:
        return manifest, "subset", ""
    except KubeError as exc:
        if exc.status == 404:  # namespace not there yet: CreateNamespace or an earlier wave makes it
            return manifest, "subset", ""
        return manifest, "subset", str(exc)
