"""Desired objects against the live cluster: per-resource diff and health, the app's status.

    compare(cluster, app, desired) -> Comparison

Called only by the compare pipeline (reconciler/engine/pipeline.py). The only writes to
the cluster here are dry-runs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.apply_mode import ApplyMode, apply_mode, apply_object
from reconciler.engine.cluster import Cluster, KubeError, UnknownKindError
from reconciler.engine.diff.resource_diff import (
    AppSyncStatus,
    CompareMode,
    ResourceDiff,
    ResourceSyncStatus,
    app_sync_status,
    diff_resource,
)
from reconciler.engine.health.assess import Health, assess, missing, worst
from reconciler.engine.health.rules.configured import Customizations, with_system_ignore_differences
from reconciler.engine.hooks import Hook, is_hook
from reconciler.engine.live_view import (
    LiveRecord,
    LiveView,
    live_fingerprint,
    owned_fingerprint,
)
from reconciler.engine.served_kinds import (
    crd_kinds_of,
    crd_name_for,
    not_served_error,
    served,
    skips_dry_run_on_missing,
)
from reconciler.engine.verified_marks import (
    ABSENT,
    OWNED,
    manifest_hash,
    recently_found_absent,
    still_verified,
    verified_mark,
)
from reconciler.model import Application, ResourceIgnoreDifferences
from reconciler.model.resources import TRACKING_ANNOTATION, ResourceKey, split_api_version
from reconciler.source.render.tracking import ARGO_GROUP, CHILD_APP_KINDS


def is_child_app(obj: Mapping[str, Any]) -> bool:
    group, _ = split_api_version(str(obj.get("apiVersion", "")))
    return group == ARGO_GROUP and obj.get("kind") in CHILD_APP_KINDS


@dataclass(frozen=True)
class DesiredState:
    revision: str
    objects: list[dict[str, Any]]  # resources to apply, in render order
    child_apps: list[dict[str, Any]] = field(default_factory=list)  # Application/AppProject manifests
    cache_hit: bool = False
    hooks: list[Hook] = field(default_factory=list)  # run by a sync in their phases; never compared
    # `argocd.argoproj.io/hook: Skip` objects: never applied, yet their live object is matched to
    # them as Argo CD does, so it is neither Extra (pruned) nor counted in the sync status.
    skipped: frozenset[ResourceKey] = frozenset()


@dataclass(frozen=True)
class ResourceState:
    diff: ResourceDiff
    health: Health | None  # None for Extra objects, which are not the app's health
    live_uid: str = ""
    live_resource_version: str = ""
    error: str = ""  # a dry-run that failed: why this object cannot be applied as it is
    message: str = ""  # why the state is what it is, when that is not obvious (a kind not served yet)
    shared_with: str = ""  # another app whose tracking the live object carries (SharedResourceWarning)

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
    def shared(self) -> list[str]:
        return [f"{r.key} is also tracked by application {r.shared_with!r}" for r in self.resources if r.shared_with]

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
    *,
    customizations: Customizations,
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
        customizations=customizations,
    )


def tracked_by_other_app(live: Mapping[str, Any] | None, app_name: str) -> str:
    """The other app whose tracking annotation the live object carries, "" when none."""
    annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
    parsed = ResourceKey.from_tracking_id(str(annotations.get(TRACKING_ANNOTATION, "")))
    if parsed is None or parsed[0] == app_name:
        return ""
    return parsed[0]


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
    customizations: Customizations,
) -> Comparison:
    """Diff the desired objects against the cluster and assess health.

    `customizations`: the process's resource customizations (Lua health checks, system-level
    ignoreDifferences), handed in rather than read from the environment.

    `live_types`: (apiVersion, kind) pairs to look for prune candidates besides the desired
    kinds (the app's inventory); None looks at every kind the cluster serves.
    `live_namespaces`: where the app's objects may be besides the desired ones' namespaces (the
    inventory's), for clusters whose RBAC allows no cluster-wide LIST.
    `verified`: from the last Comparison; objects whose live fingerprint and manifest are
    unchanged are Synced without asking the server for a dry-run.
    `live_view`: the watcher's index; when it vouches for every kind and namespace involved, the
    app's objects come from it (no LIST) and an object it shows unchanged since verified
    costs no request at all. Otherwise the cluster is LISTed by label. Either way, a verdict
    other than "unchanged since verified" comes from the server (GET and dry-run).
    """
    verified = verified or {}
    desired_by_key = {ResourceKey.of(obj): obj for obj in desired.objects}
    types: set[tuple[str, str]] | None = None
    if live_types is not None:
        types = {(str(o["apiVersion"]), str(o["kind"])) for o in desired.objects} | set(live_types)
    namespaces = {key.namespace for key in desired_by_key} | set(live_namespaces) | {app.destination.namespace}
    records: Mapping[ResourceKey, LiveRecord] | None = None
    if live_view is not None and types is not None:
        records = live_view.tracked(app.name, {(split_api_version(v)[0], k) for v, k in types}, namespaces)
    listed: dict[ResourceKey, dict[str, Any]] = {}
    source = "watch"
    if records is None:
        source = f"list: {live_view.source}" if live_view is not None else "list"
        # Live hooks carry the app's tracking too, but they are never part of its state.
        listed = {
            ResourceKey.of(obj): obj
            for obj in cluster.list_tracked(app.name, types, namespaces=namespaces)
            if owned_by(obj, app.name) and not is_hook(obj)
        }
    run = _ComparePass(
        cluster=cluster,
        app=app,
        # System-level resource.customizations.ignoreDifferences first, then the app's own.
        ignore=with_system_ignore_differences(app.ignore_differences, customizations),
        customizations=customizations,
        verified=verified,
        crd_kinds=crd_kinds_of(desired.objects),
    )
    states: list[ResourceState] = []
    for key in sorted(set(desired_by_key) | set(records if records is not None else listed)):
        manifest = desired_by_key.get(key)
        record = records.get(key) if records is not None else None
        if manifest is None and key in desired.skipped:
            continue
        if manifest is None:
            state = run.extra(key, listed.get(key), record)
        else:
            state = run.desired(key, manifest, listed.get(key), record)
        if state is not None:
            states.append(state)
    return Comparison(
        revision=desired.revision,
        resources=states,
        sync_status=app_sync_status(s.diff for s in states),
        health=worst(s.health for s in states if s.health is not None),
        verified=run.new_verified,
        dry_runs=run.dry_runs,
        live_source=source,
    )


@dataclass
class _ComparePass:
    """One compare's context and what it learns: the `verified` entries that still hold and
    the dry-runs it cost."""

    cluster: Cluster
    app: Application
    ignore: tuple[ResourceIgnoreDifferences, ...]
    customizations: Customizations
    verified: Mapping[str, str]
    crd_kinds: dict[tuple[str, str], str]
    new_verified: dict[str, str] = field(default_factory=dict)
    dry_runs: int = 0

    def extra(self, key: ResourceKey, live: dict[str, Any] | None, record: LiveRecord | None) -> ResourceState | None:
        """A live object of the app's that no manifest asks for (a prune candidate), or None."""
        if record is not None:  # the index saw it: make sure it is still there and ours
            live = _get_quietly(
                self.cluster,
                {"apiVersion": record.api_version, "kind": key.kind},
                {"namespace": key.namespace or None, "name": key.name},
            )
        if live is not None and owned_by(live, self.app.name) and not is_hook(live):
            return _extra(key, live, self.ignore)
        return None

    def desired(
        self, key: ResourceKey, manifest: dict[str, Any], live: dict[str, Any] | None, record: LiveRecord | None
    ) -> ResourceState:
        """The state of one desired object, asking the server only what the verdict needs."""
        cluster, app, customizations = self.cluster, self.app, self.customizations
        entry = self.verified.get(str(key))
        if record is not None and still_verified(entry, manifest, record.fingerprint, record.owned):
            self.new_verified[str(key)] = str(entry)
            return _unchanged(key, record)
        if live is None and not served(cluster, manifest):
            return _not_served(key, manifest, app, self.crd_kinds, self.ignore)
        if live is None and recently_found_absent(entry, manifest):
            return _state(diff_resource(key, manifest, None, self.ignore, mode="subset"), None, customizations)
        shared_with = ""
        write_mode = apply_mode(app, manifest)
        answer: DryRun | None = None
        if live is None:
            # Not listed as ours (or not read yet from the index): it may exist, created by hand,
            # by another tool or by another app. A server-side dry-run answers whether it exists
            # (the server would create it); only an object that does is read.
            if write_mode.server_side:
                answer = _dry_run(cluster, manifest, write_mode)
            if answer is None or not answer.creates:
                live = _get_quietly(cluster, manifest, manifest.get("metadata") or {})
                shared_with = tracked_by_other_app(live, app.name)
        if live is not None and answer is None and not shared_with:
            synced = self._still_synced(key, manifest, live, entry)
            if synced is not None:
                return synced
        if answer is None:
            answer = _dry_run(cluster, manifest, write_mode)
        self.dry_runs += 1
        dry, mode, error = answer.stored, answer.mode, answer.error
        diff = diff_resource(key, dry, live, self.ignore, mode=mode)
        if diff.status == ResourceSyncStatus.SYNCED and live is not None and not shared_with:
            applied = dry if mode == "exact" and write_mode.server_side else None
            self.new_verified[str(key)] = verified_mark(live, manifest, cluster.field_manager, applied)
        elif live is None and mode == "exact" and not error:
            self.new_verified[str(key)] = f"{ABSENT}:{manifest_hash(manifest)}:{time.time():.3f}"
        state = _state(diff, live, customizations, error)
        if shared_with:
            state = dataclasses.replace(state, shared_with=shared_with)
        return state

    def _still_synced(
        self, key: ResourceKey, manifest: dict[str, Any], live: dict[str, Any], entry: str | None
    ) -> ResourceState | None:
        """Synced without a dry-run when the entry still vouches for this live object and the
        manifest's fields match it; None when the server must be asked."""
        # Only the fingerprint the entry vouches by is computed.
        if str(entry).startswith(f"{OWNED}:"):
            fingerprints = ("", owned_fingerprint(live, self.cluster.field_manager))
        else:
            fingerprints = (live_fingerprint(live), "")
        if not still_verified(entry, manifest, *fingerprints):
            return None
        diff = diff_resource(key, manifest, live, self.ignore, mode="subset")
        if diff.status != ResourceSyncStatus.SYNCED:
            return None
        self.new_verified[str(key)] = str(entry)
        return _state(diff, live, self.customizations)


def _unchanged(key: ResourceKey, record: LiveRecord) -> ResourceState:
    """An object the watcher shows unchanged since the dry-run that found it Synced."""
    meta = {"name": key.name, "uid": record.uid, "resourceVersion": record.resource_version}
    if key.namespace:
        meta["namespace"] = key.namespace
    stub = {"apiVersion": record.api_version, "kind": key.kind, "metadata": meta}
    return ResourceState(
        diff=ResourceDiff(key, ResourceSyncStatus.SYNCED, desired=None, live=stub, text=""),
        health=record.health,
        live_uid=record.uid,
        live_resource_version=record.resource_version,
    )


def _not_served(
    key: ResourceKey,
    manifest: dict[str, Any],
    app: Application,
    crd_kinds: Mapping[tuple[str, str], str],
    ignore: tuple[ResourceIgnoreDifferences, ...],
) -> ResourceState:
    """A desired object whose kind the cluster does not serve: Missing, with why and what to do."""
    diff = diff_resource(key, manifest, None, ignore, mode="subset")
    api_version = manifest.get("apiVersion", "")
    crd = crd_kinds.get((key.group, key.kind))
    if crd is not None:
        message = (
            f"kind {key.kind} ({api_version}) is not served yet: the sync applies its "
            f"CustomResourceDefinition {crd} first, then this object"
        )
        return ResourceState(diff=diff, health=missing(), message=message)
    wanted = crd_name_for(key, manifest)
    if skips_dry_run_on_missing(app, manifest):
        message = (
            f"kind {key.kind} ({api_version}) is not served: SkipDryRunOnMissingResource=true, so a sync waits "
            f"for its CustomResourceDefinition (usually {wanted}) to be installed"
        )
        return ResourceState(diff=diff, health=missing(), message=message)
    error = not_served_error(key, manifest)
    return ResourceState(diff=diff, health=missing(), error=error, message=error)


def _state(
    diff: ResourceDiff, live: dict[str, Any] | None, customizations: Customizations, error: str = ""
) -> ResourceState:
    meta = (live or {}).get("metadata") or {}
    health = assess(live, customizations) if live is not None else missing()
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


@dataclass(frozen=True)
class DryRun:
    stored: dict[str, Any]  # what the server would store, or the manifest when it could not answer
    mode: CompareMode
    error: str = ""
    creates: bool = False  # the server said it would create the object: it does not exist


def _dry_run(cluster: Cluster, manifest: dict[str, Any], mode: ApplyMode) -> DryRun:
    """The server's answer to applying `manifest` the way a sync would (`mode`: server- or
    client-side), or the manifest itself when the server cannot answer yet (its namespace or CRD
    will be created by the same sync)."""
    try:
        if mode.server_side:
            stored, creates = cluster.dry_run_apply(manifest, field_validation=mode.field_validation)
            return DryRun(stored, "exact", creates=creates)
        return DryRun(apply_object(cluster, manifest, mode, dry_run=True), "exact")
    except UnknownKindError:
        return DryRun(manifest, "subset")
    except KubeError as exc:
        if exc.status == 404:  # namespace not there yet: CreateNamespace or an earlier wave makes it
            return DryRun(manifest, "subset")
        return DryRun(manifest, "subset", str(exc))
