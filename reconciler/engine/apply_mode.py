"""How an object is applied, from its own sync options and its app's (Argo CD's precedence:
the resource's annotation wins). The sync, its dry-run (compare, diff, preview) and hooks all
write through `apply_object`, so they follow the same mode.

- `ServerSideApply`: server-side apply unless `=false`; `false` is client-side apply with
  kubectl's last-applied-configuration annotation and three-way patch.
- `Validate`: the server's `fieldValidation=Strict` (kubectl apply's default: unknown or
  duplicate fields fail the request naming the field) unless `Validate=false` (`Ignore`: the
  server drops them). Server-side apply refuses fields the schema does not declare whatever
  the directive, as kube-apiserver does.
- `ClientSideApplyMigration` (server-side apply only, default on as in Argo CD 3.x): fields
  owned by `kubectl-client-side-apply` (and by this system's own client-side applies) move to
  this system's apply manager, then the object is applied again, so fields removed from git go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.engine.cluster import Cluster, KubeError
from reconciler.engine.cluster.client import IGNORE, STRICT
from reconciler.engine.cluster.csa_migration import KUBECTL_CSA_MANAGER, migration_patch
from reconciler.engine.diff.resource_diff import annotation_options
from reconciler.model import Application
from reconciler.model.resources import SYNC_OPTIONS_ANNOTATION

JsonObj = dict[str, Any]


def option(app: Application | None, obj: Mapping[str, Any], name: str) -> str:
    """A resource's own sync option, else the app's; lower-case, "" when neither sets it."""
    own = annotation_options(obj, SYNC_OPTIONS_ANNOTATION).get(name)
    if own is not None:
        return own.lower()
    if app is None:
        return ""
    return (app.sync_policy.option(name) or "").lower()


@dataclass(frozen=True)
class ApplyMode:
    server_side: bool = True
    field_validation: str = STRICT
    migrate_client_side: bool = True

    @property
    def describe(self) -> str:
        return "server-side apply" if self.server_side else "client-side apply"


def apply_mode(app: Application | None, obj: Mapping[str, Any]) -> ApplyMode:
    return ApplyMode(
        server_side=option(app, obj, "ServerSideApply") != "false",
        field_validation=IGNORE if option(app, obj, "Validate") == "false" else STRICT,
        migrate_client_side=option(app, obj, "ClientSideApplyMigration") != "false",
    )


def apply_object(cluster: Cluster, obj: JsonObj, mode: ApplyMode, *, dry_run: bool = False) -> JsonObj:
    """Write `obj` as `mode` says; returns what the server stored (or, dry-run, would store)."""
    if not mode.server_side:
        return cluster.client_side_apply(obj, dry_run=dry_run, field_validation=mode.field_validation)
    stored = cluster.apply(obj, dry_run=dry_run, field_validation=mode.field_validation)
    if dry_run or not mode.migrate_client_side:
        return stored
    # Checked on the answer rather than by a GET first (kubectl does the same): one request
    # when there is nothing to migrate, which is nearly always.
    managers = (KUBECTL_CSA_MANAGER, cluster.field_manager)
    for attempt in range(MIGRATION_ATTEMPTS):
        patch = migration_patch(stored, managers, cluster.field_manager)
        if patch is None:
            return stored
        try:
            cluster.patch(obj, patch, "application/json-patch+json", field_validation=mode.field_validation)
            break
        except KubeError as exc:
            # 409: someone wrote the object since our apply; recompute from a fresh copy, as kubectl does.
            if exc.status != 409 or attempt == MIGRATION_ATTEMPTS - 1:
                raise
            meta = obj.get("metadata") or {}
            fresh = cluster.get(str(obj["apiVersion"]), str(obj["kind"]), meta.get("namespace"), meta["name"])
            if fresh is None:
                raise
            stored = fresh
    # Applied again: the fields we now own alone and no longer apply are removed.
    return cluster.apply(obj, field_validation=mode.field_validation)


MIGRATION_ATTEMPTS = 3
