"""One generation run of an ApplicationSet on a worker: generate, compare with the apps the set
owns, and create, update or delete them as `syncPolicy.applicationsSync` allows.

Safe by default, beyond Argo CD:
- a generator or template that fails changes nothing (the ErrorOccurred condition names the
  generator and the error), so a pull-request API that is down deletes no app;
- a run that would delete more than RECONCILER_APPSET_MAX_DELETE_PERCENT (default 50 %) of the
  set's apps changes nothing and says so; the annotation `reconciler.io/appset-max-delete-percent`
  sets the share for one set (100 allows any run, e.g. for pull-request sets whose apps come
  and go);
- one worker generates a set at a time (a Redis lock); a run asked for meanwhile runs right after.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from reconciler.control.appsets import status as st
from reconciler.control.appsets.clusters import cluster_names, known_clusters
from reconciler.control.appsets.context import GenerateContext, GeneratorError
from reconciler.control.appsets.generate import Generated, generate
from reconciler.control.appsets.scm import TOKEN_SETTINGS, ScmAccess
from reconciler.control.appsets.strategy import AppState, rollout
from reconciler.control.appsets.template import Engine, TemplateError
from reconciler.control.catalog import project_for, register
from reconciler.control.requests import SyncRequest
from reconciler.control.sync.operation import DeleteRequest
from reconciler.control.teardown import delete_without_waiting
from reconciler.model import IN_CLUSTER_SERVER, RESOURCES_FINALIZER, Application, Destination, SpecError
from reconciler.model.appset_types import ApplicationSet
from reconciler.model.parse_appset import parse_appset
from reconciler.services import Services

log = logging.getLogger("reconciler.appsets")

MAX_DELETE_ANNOTATION = "reconciler.io/appset-max-delete-percent"
LOCK_TTL_SECONDS = 300.0
ERROR_RETRY_SECONDS = 30.0
ROLLOUT_POLL_SECONDS = 2.0
MAX_RERUNS = 3


@dataclass
class RunResult:
    status: dict[str, Any] = field(default_factory=dict)
    syncs: list[SyncRequest] = field(default_factory=list)
    # cascade deletes of apps the set no longer generates, for the worker to queue
    deletes: list[DeleteRequest] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    held: str = ""


def load_appset(services: Services, name: str) -> ApplicationSet | None:
    manifest = services.store.appset_manifest(name)
    return None if manifest is None else parse_appset(manifest, source_file=f"registered ApplicationSet {name}")


def context_for(services: Services, appset: ApplicationSet, *, fresh: bool = False) -> GenerateContext:
    """What the generators of `appset` read, from this process's clients."""

    def git_tree(repo_url: str, revision: str) -> Any:
        sha = services.git.resolve(repo_url, revision, refresh=fresh)
        return services.git.snapshot(repo_url, sha)

    def read_secret(namespace: str, secret: str) -> dict[str, Any] | None:
        cluster = services.clusters.for_destination(Destination(server=IN_CLUSTER_SERVER))
        return cluster.get("v1", "Secret", namespace, secret)

    tokens = {provider: services.settings.appset_tokens.get(provider, "") for provider in TOKEN_SETTINGS}
    return GenerateContext(
        appset=appset,
        engine=Engine.of(appset),
        clusters=lambda: known_clusters(services.store),
        git_tree=git_tree,
        scm=ScmAccess(namespace=appset.namespace, read_secret=read_secret, settings_tokens=tokens),
    )


def generate_for(services: Services, appset: ApplicationSet, ctx: GenerateContext) -> Generated:
    store = services.store
    return generate(appset, ctx, lambda app: project_for(store, app), cluster_names(store))


def max_delete_percent(services: Services, appset: ApplicationSet) -> float:
    raw = appset.annotations.get(MAX_DELETE_ANNOTATION, "").strip()
    try:
        return float(raw) if raw else float(services.settings.appset_max_delete_percent)
    except ValueError:
        return float(services.settings.appset_max_delete_percent)


def run_generation(services: Services, name: str, *, fresh: bool = False) -> RunResult | None:
    """Generate `name` under its lock; None when it is not registered. When another worker holds
    the set, that worker runs it again when done (the request is not lost)."""
    store = services.store
    token = uuid.uuid4().hex
    if not store.acquire_appset_lock(name, token, LOCK_TTL_SECONDS):
        store.ask_again(name, LOCK_TTL_SECONDS)
        return RunResult(held="another worker is generating this set; it runs again when done")
    try:
        result = None
        for _ in range(MAX_RERUNS):
            result = _run(services, name, fresh)
            if not store.take_again(name):
                break
        return result
    finally:
        store.release_appset_lock(name, token)


def _run(services: Services, name: str, fresh: bool) -> RunResult | None:
    store = services.store
    previous = store.appset_status(name) or {}
    try:
        appset = load_appset(services, name)
    except SpecError as exc:
        return _hold(services, name, previous, st.INVALID_SPEC, str(exc), parameters=False)
    if appset is None:
        return None
    ctx = context_for(services, appset, fresh=fresh)
    try:
        generated = generate_for(services, appset, ctx)
    except GeneratorError as exc:
        return _hold(services, name, previous, st.GENERATION_ERROR, str(exc), parameters=False, ctx=ctx)
    except TemplateError as exc:
        return _hold(services, name, previous, st.RENDER_ERROR, str(exc), parameters=False, ctx=ctx)
    return _apply(services, appset, generated, previous, ctx)


def _hold(
    services: Services,
    name: str,
    previous: dict[str, Any],
    reason: str,
    message: str,
    *,
    parameters: bool,
    ctx: GenerateContext | None = None,
) -> RunResult:
    """Nothing changes; the status says why, and the set is generated again soon."""
    log.warning("ApplicationSet run held: %s", message, extra={"app": name, "reason": reason})
    owned = services.store.apps_owned_by(name)
    status = {
        **previous,
        "name": name,
        "conditions": st.with_transition_times(
            st.conditions_failed(reason, message, parameters=parameters), previous.get("conditions") or []
        ),
        "resources": st.resource_rows(services.store, owned, _namespaces(services, owned)),
        "observedAt": time.time(),
    }
    if ctx is not None:
        status["watched"] = _watched(ctx)
    services.store.write_appset_status(name, status)
    services.store.schedule_appset(name, time.time() + min(ERROR_RETRY_SECONDS, services.settings.poll_interval))
    return RunResult(status=status, held=message)


def _namespaces(services: Services, names: list[str]) -> dict[str, str]:
    out = {}
    for name in names:
        manifest = services.store.app_manifest(name) or {}
        out[name] = str((manifest.get("metadata") or {}).get("namespace") or "argocd")
    return out


def _watched(ctx: GenerateContext) -> dict[str, list[str]]:
    return {"pullRequest": sorted(set(ctx.pull_request_repos)), "git": sorted(set(ctx.git_repos))}


def _plan(
    services: Services, appset: ApplicationSet, generated: Generated
) -> tuple[list[Application], list[Application], list[str], dict[str, str]]:
    """(create, update, delete, refused): each generated app against what is registered."""
    store = services.store
    owned = set(store.apps_owned_by(appset.name))
    refused = dict(generated.refused)
    create, update = [], []
    for name, app in generated.apps.items():
        registered = store.app_manifest(name)
        if registered is None:
            create.append(app)
        elif name not in owned:
            other = store.owner_of(name)
            refused[name] = (
                f"application {name!r} already exists and is not owned by this ApplicationSet"
                + (f" (ApplicationSet {other} owns it)" if other else "")
                + "; rename one of them"
            )
        elif _with_preserved(appset, app, registered) != registered:
            update.append(app)
    delete = sorted(owned - set(generated.apps) - set(refused))
    return create, update, delete, refused


def _with_preserved(appset: ApplicationSet, app: Application, registered: dict[str, Any]) -> dict[str, Any]:
    """The app's manifest with the registered values of spec.preservedFields kept."""
    from reconciler.control.appsets.generate import manifest_of

    manifest = manifest_of(app)
    live_meta = registered.get("metadata") or {}
    meta = manifest.setdefault("metadata", {})
    for key, kept in (("annotations", appset.preserved_annotations), ("labels", appset.preserved_labels)):
        for item in kept:
            if item in (live_meta.get(key) or {}):
                meta.setdefault(key, {})[item] = live_meta[key][item]
    return manifest


def _apply(
    services: Services, appset: ApplicationSet, generated: Generated, previous: dict[str, Any], ctx: GenerateContext
) -> RunResult:
    store = services.store
    create, update, delete, refused = _plan(services, appset, generated)
    if not appset.allows_update:
        update = []
    if not appset.allows_delete:
        delete = []
    owned_before = store.apps_owned_by(appset.name)
    cap = max_delete_percent(services, appset)
    if delete and len(delete) * 100.0 / max(len(owned_before), 1) > cap:
        message = (
            f"this run would delete {len(delete)} of the {len(owned_before)} applications of the set "
            f"({', '.join(delete[:10])}{', ...' if len(delete) > 10 else ''}), more than {cap:g} %: nothing was "
            f"changed. If that is intended, raise the annotation {MAX_DELETE_ANNOTATION} on the ApplicationSet "
            "(or RECONCILER_APPSET_MAX_DELETE_PERCENT) and the next run applies it"
        )
        return _hold(services, appset.name, previous, st.DELETION_CAP, message, parameters=True, ctx=ctx)
    result = RunResult(created=[a.name for a in create], updated=[a.name for a in update], deleted=delete)
    for app in create + update:
        store.set_app_owner(app.name, appset.name)
    register(store, create + update)
    result.deletes = [follow for name in delete if (follow := _delete_owned(services, appset, name)) is not None]
    owned = store.apps_owned_by(appset.name)
    rollout_rows, syncs, rolling = _rollout(services, appset, generated, previous)
    result.syncs = syncs
    conditions = st.conditions_ok()
    if refused:
        message = "; ".join(refused[name] for name in sorted(refused))
        conditions = [
            st.condition("ErrorOccurred", True, st.VALIDATION_ERROR, message),
            conditions[1],
            st.condition("ResourcesUpToDate", False, st.VALIDATION_ERROR, message),
        ]
    if appset.rolling_sync is not None:
        conditions.append(
            st.condition(
                "RolloutProgressing",
                rolling,
                "ApplicationSetModified" if rolling else "ApplicationSetRolloutComplete",
                "ApplicationSet is performing rollout of step(s)"
                if rolling
                else "ApplicationSet Rollout has completed",
            )
        )
    result.status = {
        "name": appset.name,
        "conditions": st.with_transition_times(conditions, previous.get("conditions") or []),
        "resources": st.resource_rows(store, owned, _namespaces(services, owned)),
        "applicationStatus": rollout_rows,
        "refused": refused,
        "parameterSets": generated.parameter_sets,
        "watched": _watched(ctx),
        "lastRun": {"created": result.created, "updated": result.updated, "deleted": result.deleted},
        "observedAt": time.time(),
    }
    store.write_appset_status(appset.name, result.status)
    interval = min(ctx.requeue_after or [services.settings.poll_interval])
    store.schedule_appset(appset.name, time.time() + (ROLLOUT_POLL_SECONDS if rolling else interval))
    if result.created or result.updated or result.deleted:
        log.info(
            "ApplicationSet generated: %d created, %d updated, %d deleted",
            len(result.created),
            len(result.updated),
            len(result.deleted),
            extra={"app": appset.name},
        )
    return result


def _delete_owned(services: Services, appset: ApplicationSet, name: str) -> DeleteRequest | None:
    """Delete a generated app the set no longer produces: its resources too (by a delete
    operation, returned to queue) when it carries the resources finalizer, unless the set
    preserves resources on deletion (Argo CD's rule)."""
    follow = _delete_generated(services, name, preserve=appset.preserve_resources_on_deletion)
    services.store.clear_app_owner(name)
    return follow


def _delete_generated(services: Services, name: str, *, preserve: bool) -> DeleteRequest | None:
    finalizers = ((services.store.app_manifest(name) or {}).get("metadata") or {}).get("finalizers") or []
    cascade = RESOURCES_FINALIZER in finalizers and not preserve
    return delete_without_waiting(services.store, services.settings, name, cascade=cascade)


def _rollout(
    services: Services, appset: ApplicationSet, generated: Generated, previous: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[SyncRequest], bool]:
    if appset.rolling_sync is None:
        return [], [], False
    store = services.store
    names = list(generated.apps)
    statuses = store.statuses(names)
    states = {}
    for name in names:
        status = statuses.get(name) or {}
        operation = store.operation_state(name) or {}
        states[name] = AppState(
            sync=(status.get("sync") or {}).get("status", "Unknown"),
            health=(status.get("health") or {}).get("status", "Unknown"),
            operation_phase=str(operation.get("phase") or ""),
            operation_finished=float(operation.get("finishedAt") or 0),
        )
    return rollout(appset, generated.apps, states, previous.get("applicationStatus") or [])


def delete_appset(services: Services, name: str) -> tuple[dict[str, Any], list[DeleteRequest]]:
    """Deregister a set and the apps it owns; each app's resources are deleted when it carries
    the resources finalizer, unless the set has preserveResourcesOnDeletion (as Argo CD), by a
    delete operation of its own: the requests to queue (the apps are listed under `deleting`)."""
    store = services.store
    manifest = store.appset_manifest(name)
    if manifest is None:
        raise LookupError(f"ApplicationSet {name!r} is not registered; list them with `reconciler appset list`")
    try:
        preserve = parse_appset(manifest).preserve_resources_on_deletion
    except SpecError:
        preserve = True  # an unreadable set deletes its apps but never their resources
    deleted, deleting, follow = [], [], []
    for app in store.apps_owned_by(name):
        if store.app_manifest(app) is not None:
            delete = _delete_generated(services, app, preserve=preserve)
            if delete is not None:
                follow.append(delete)
                deleting.append(app)
            else:
                deleted.append(app)
        store.clear_app_owner(app)
    store.delete_appset(name)
    result = {"deleted": name, "applications": deleted, "deleting": deleting, "preserveResourcesOnDeletion": preserve}
    return result, follow
