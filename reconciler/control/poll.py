"""A poll: compare one application with Git and the cluster, store its status, and decide
whether the automated path should sync it.

A poll takes no lock and writes nothing to a cluster. When neither the Git revision nor
the spec moved, it renders nothing (render cache) and asks the server for a dry-run only
for objects that changed since they were last verified. With the watcher running
(reconciler/live) the app's live objects come from its index, so a poll where nothing changed
makes no Kubernetes API request at all; without it (or while its data is stale) the poll
LISTs the cluster by label, and the status's `liveState` says which it was and why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.control.catalog import UnknownApplication, load_application, poll_interval_of, project_for
from reconciler.control.children import parse_children
from reconciler.control.comparing import compare_registered
from reconciler.control.notifications import notify_app_event
from reconciler.control.requests import SyncRequest
from reconciler.control.sync.drive import unexpected
from reconciler.control.sync.end import fingerprint_marker
from reconciler.control.views import orphans
from reconciler.control.windows import sync_allowed
from reconciler.core.errors import ReconcilerError
from reconciler.engine.compare import Comparison
from reconciler.engine.diff.resource_diff import AppSyncStatus, ResourceSyncStatus
from reconciler.engine.health.assess import Health, assess, missing, worst
from reconciler.engine.pipeline import AccessDenied, AppComparison, revisions_of
from reconciler.live.reader import LiveStateReader
from reconciler.model import Application, AppProject, SpecError, application_to_manifest
from reconciler.model.appset_types import ApplicationSet
from reconciler.model.operation import OperationPhase
from reconciler.services import Services
from reconciler.source.git.errors import RevisionNotFound
from reconciler.source.git.refs import is_full_sha

log = logging.getLogger("reconciler.poll")

PROGRESSING_POLL_SECONDS = 2.0
ERROR_RETRY_BASE_SECONDS = 5.0
ROLLOUT_WATCH_SECONDS = 600.0
SELF_HEAL_BASE_SECONDS = 2.0
SELF_HEAL_FACTOR = 3.0
SELF_HEAL_MAX_SECONDS = 300.0


def self_heal_wait(attempts: int) -> float:
    """Argo CD's self-heal backoff: 0, 2, 6, 18, 54, 162, then 300 s between attempts."""
    if attempts <= 0:
        return 0.0
    return min(SELF_HEAL_BASE_SECONDS * SELF_HEAL_FACTOR ** (attempts - 1), SELF_HEAL_MAX_SECONDS)


@dataclass(frozen=True)
class RefreshResult:
    status: dict[str, Any]
    sync: SyncRequest | None


def refresh(
    services: Services, name: str, *, revision: str | None = None, fresh_refs: bool = False
) -> RefreshResult | None:
    """Poll one app. None when it is not registered (deleted since the poll was queued)."""
    store = services.store
    observed = time.time()
    cpu_started = time.thread_time()
    try:
        app = load_application(store, name)
    except UnknownApplication:
        return None
    except SpecError as exc:
        status = _error_status(name, None, "InvalidSpecError", str(exc), observed, store.status(name))
        store.write_status(name, status)
        notify_app_event(services, name)
        return RefreshResult(status, None)
    previous = store.status(name) or {}
    fresh_refs = fresh_refs or bool(previous.get("refreshRefs"))
    project = project_for(store, app)  # read once: the compare, the orphans and the sync windows use it
    try:
        result, children = _compare(services, app, previous, revision, fresh_refs, project)
        if not fresh_refs and revision is None and _behind_last_sync(services, app, result.desired.revision):
            # The shared `ls-remote` answer names a commit this app already synced past: it may
            # predate a push whose webhook was just synced. List the remote again before acting;
            # if it still says so, the branch really was moved back, and Git is followed.
            log.info("resolved revision is older than the last synced one: listing the remote again",
                     extra={"app": name, "revision": result.desired.revision})
            result, children = _compare(services, app, previous, None, True, project)
    except AccessDenied as exc:
        return _failed(services, app, "InvalidSpecError", str(exc), observed, previous)
    except ReconcilerError as exc:
        return _failed(services, app, "ComparisonError", str(exc), observed, previous, exc)
    except Exception as exc:  # a bug, or an input nothing here handles: a condition, never a silent Unknown
        log.exception("poll failed unexpectedly", extra={"app": name})
        return _failed(services, app, "ComparisonError", unexpected(exc), observed, previous, exc)
    status = _status(app, result.comparison, children, observed)
    status["healthTransitionAt"] = health_transition_at(previous, status, observed)
    # Whether this poll reused a cached render: a no-op poll should (bench/poll_scale.py counts it).
    status["renderCacheHit"] = result.desired.cache_hit
    # This thread's CPU for the poll so far (bench/poll_scale.py reads it: the poll's own cost
    # apart from the task queue's).
    status["pollCpuMs"] = round((time.thread_time() - cpu_started) * 1000, 2)
    project_problem = result.refused
    if project_problem:
        status["conditions"].append({"type": "InvalidSpecError", "message": project_problem})
    _report_shared(services, app, result.comparison, status)
    orphans.report(services, app, project[0], status)
    deleting = store.deletion_problem(name)
    if deleting:
        status["conditions"].append({"type": "DeletionError", "message": deleting})
    permission = sync_allowed(store, app, manual=False, project=project[0])
    status["syncWindows"] = list(permission.windows)
    if not permission.allowed and app.sync_policy.automated is not None:
        status["syncHeld"] = permission.reason
    store.write_status(name, status)
    notify_app_event(services, name)
    _tell_parent_of_health_change(services, name, previous, status)
    if status["health"]["status"] == "Progressing" and status["liveState"] != "watch" and _rolling_out(services, name):
        # Argo CD refreshes on every watched change, and so does the watcher here (a rollout's
        # changes each queue a poll); where it does not serve the app, we look again soon.
        store.poll_soon(name, time.time() + PROGRESSING_POLL_SECONDS)
    # An app whose cascade delete was asked for, or kept it (a PreDelete or PostDelete hook), is
    # never synced again (Argo CD: an app with a deletionTimestamp does not sync).
    being_deleted = deleting or store.delete_request(name) is not None
    sync = None if project_problem or being_deleted else decide_auto_sync(services, app, status)
    return RefreshResult(status, sync)


def report_failed_poll(services: Services, name: str, condition: str, message: str) -> bool:
    """Store a poll of `name` that could not run at all as a failed poll: the condition, and
    another poll after the usual backoff. False when the app is gone or its spec invalid."""
    try:
        app = load_application(services.store, name)
    except (UnknownApplication, SpecError):
        return False
    _failed(services, app, condition, message, time.time(), services.store.status(name) or {})
    return True


def error_retry_wait(errors: int, interval: float) -> float:
    """Seconds until an app whose last `errors` polls failed is polled again: 5, 10, 20, ...
    up to its normal interval, so a transient failure (a branch pushed a moment ago, an API
    server restarting) clears in seconds rather than standing for a whole interval."""
    return min(ERROR_RETRY_BASE_SECONDS * 2 ** max(errors - 1, 0), interval)


def _failed(
    services: Services,
    app: Application,
    condition: str,
    message: str,
    observed: float,
    previous: dict[str, Any],
    exc: BaseException | None = None,
) -> RefreshResult:
    """Store a poll that ended in an error, and poll again soon with backoff."""
    status = _error_status(app.name, app, condition, message, observed, previous)
    errors = int(previous.get("errorCount") or 0) + 1  # a successful poll's status has none
    status["errorCount"] = errors
    # The revision may have been pushed after the shared ref listing was taken: list again.
    status["refreshRefs"] = isinstance(exc, RevisionNotFound)
    services.store.write_status(app.name, status)
    notify_app_event(services, app.name)
    if condition != "InvalidSpecError":  # a project rule does not change by waiting
        interval = poll_interval_of(app) or services.settings.poll_interval
        services.store.poll_soon(app.name, time.time() + error_retry_wait(errors, interval))
    return RefreshResult(status, None)


def health_transition_at(previous: dict[str, Any], status: dict[str, Any], observed: float) -> float:
    """When the app's health last changed (Argo CD's status.health.lastTransitionTime): kept
    while the health stays, this poll's time when it moves (or was never recorded)."""
    before = (previous.get("health") or {}).get("status")
    if before == status["health"]["status"] and previous.get("healthTransitionAt"):
        return float(previous["healthTransitionAt"])
    return observed


def _tell_parent_of_health_change(
    services: Services, name: str, previous: dict[str, Any], status: dict[str, Any]
) -> None:
    """A child's health is part of its parent's (app of apps): poll the parent at once when it
    changes, as Argo CD refreshes a parent when its child Application object changes."""
    if (previous.get("health") or {}).get("status") == status["health"]["status"]:
        return
    parent = services.store.parent_of(name)
    if parent:
        services.store.poll_soon(parent, time.time())


def _child_health(services: Services, name: str) -> dict[str, str]:
    """The child's health as a resource of its parent: the built-in (or configured) check of
    argoproj.io/Application applied to the child's stored status."""
    stored = services.store.status(name) or {}
    application = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "status": {"health": stored.get("health")},
    }
    return assess(application, services.customizations()).as_dict()
SHARED_NOTE_TTL_SECONDS = 900.0


def _report_shared(services: Services, app: Application, comparison: Comparison, status: dict[str, Any]) -> None:
    """SharedResourceWarning on both apps: this one found the other's tracking on an object it
    wants (in its comparison), and leaves a note the other app's next poll reports."""
    store = services.store
    for resource in comparison.resources:
        if resource.shared_with:
            store.note_shared(resource.shared_with, str(resource.key), app.name, SHARED_NOTE_TTL_SECONDS)
    for resource, other in sorted(store.shared_notes(app.name).items()):
        if other != app.name:
            status["conditions"].append(
                {"type": "SharedResourceWarning", "message": f"{resource} is also wanted by application {other!r}"}
            )


def _rolling_out(services: Services, name: str) -> bool:
    """A sync finished recently: an app Progressing long after it (a LoadBalancer that never
    gets an address) goes back to its normal poll interval instead of a poll every 2 s."""
    finished = (services.store.operation_state(name) or {}).get("finishedAt")
    return bool(finished) and time.time() - float(finished) < ROLLOUT_WATCH_SECONDS


def _compare(
    services: Services, app: Application, previous: dict[str, Any], revision: str | None, fresh_refs: bool,
    project: tuple[AppProject | None, str],
) -> tuple[AppComparison, list[dict[str, Any]]]:
    cluster = services.clusters.for_destination(app.destination)
    result = compare_registered(
        services,
        app,
        commit=revision or "",
        fresh_refs=fresh_refs,
        # What the last poll verified, and what a sync applied since (its answers need no dry-run).
        verified={**(previous.get("verified") or {}), **services.store.take_applied(app.name)},
        # The watcher's index (reconciler/live): a no-op poll then asks the cluster nothing.
        live=LiveStateReader(services.store, cluster.server),
        project=project,
    )
    children = _child_statuses(services, app.name, result.desired.child_apps, result.children,
                               registered_any=_may_have_children(previous, result.desired.child_apps))
    return result, children


def _may_have_children(previous: dict[str, Any], manifests: list[dict[str, Any]]) -> bool:
    """Whether the app may own registered children: it renders some, it is polled for the first
    time, or its last status listed some. Only then are the registered owners read: that read
    is of every app's owner (10,000 fields at 10,000 apps), too much for every poll of every app."""
    if manifests or not previous:
        return True
    return any(r.get("group") == "argoproj.io" and r.get("kind") in ("Application", "ApplicationSet")
               for r in previous.get("resources") or [])


def _child_statuses(
    services: Services, parent: str, manifests: list[dict[str, Any]], refused: Mapping[tuple[str, str], str],
    registered_any: bool = True,
) -> list[dict[str, Any]]:
    """Each child app the parent renders, compared with what is registered. One the parent's
    project refuses, or someone else registered, is Unknown with the reason (as Argo CD shows a
    resource its project does not permit); `refused` also made it the app's condition."""
    store = services.store
    parsed, problems = parse_children(parent, manifests)
    rows: list[dict[str, Any]] = []
    wanted = set()
    for child, reason in problems:
        # Named with its reason, so the parent is not Synced while a child cannot be registered.
        wanted.add(child)
        rows.append({**_child_row(child, "", ResourceSyncStatus.OUT_OF_SYNC.value, None), "error": reason})
    for doc in parsed:
        if isinstance(doc, ApplicationSet):
            same = store.appset_manifest(doc.name) == doc.manifest
            state = (ResourceSyncStatus.SYNCED if same else ResourceSyncStatus.OUT_OF_SYNC).value
            rows.append({**_child_row(doc.name, doc.namespace, state, None), "kind": "ApplicationSet"})
            continue
        if not isinstance(doc, Application):
            continue
        wanted.add(doc.name)
        registered = store.app_manifest(doc.name)
        why = refused.get(("Application", doc.name))
        if why:
            rows.append({**_child_row(doc.name, doc.namespace, ResourceSyncStatus.UNKNOWN.value, None), "message": why})
            continue
        if registered is None:
            state, health = ResourceSyncStatus.MISSING.value, missing().as_dict()
        else:
            same = registered == application_to_manifest(doc)
            state = (ResourceSyncStatus.SYNCED if same else ResourceSyncStatus.OUT_OF_SYNC).value
            health = _child_health(services, doc.name)
        rows.append(_child_row(doc.name, doc.namespace, state, health))
    for child in store.children_of(parent) if registered_any else ():
        if child not in wanted:
            rows.append(_child_row(child, "", ResourceSyncStatus.EXTRA.value, None))
    return rows


def _child_row(name: str, namespace: str, state: str, health: dict[str, str] | None) -> dict[str, Any]:
    return {
        "group": "argoproj.io",
        "kind": "Application",
        "namespace": namespace,
        "name": name,
        "status": state,
        "health": health,  # None for an Extra child: not part of the parent's health
        "diff": "",
    }


def _status(
    app: Application, comparison: Comparison, children: list[dict[str, Any]], observed: float
) -> dict[str, Any]:
    resources = [
        {
            "group": r.key.group,
            "kind": r.key.kind,
            "namespace": r.key.namespace,
            "name": r.key.name,
            "status": r.diff.status.value,
            "health": {"status": r.health.status.value, "message": r.health.message} if r.health else None,
            "diff": r.diff.text,
            "error": r.error,
            "message": r.message,
        }
        for r in comparison.resources
    ] + children
    sync_status = comparison.sync_status
    if sync_status == AppSyncStatus.SYNCED and any(c["status"] != ResourceSyncStatus.SYNCED.value for c in children):
        sync_status = AppSyncStatus.OUT_OF_SYNC
    conditions = [{"type": "SyncError", "message": e} for e in comparison.errors]
    conditions += [
        {"type": "ComparisonError", "message": f"child application {c['name']} cannot be registered: {c['error']}"}
        for c in children
        if c.get("error")
    ]
    conditions += [{"type": "SharedResourceWarning", "message": m} for m in comparison.shared]
    return {
        **_identity(app),
        "sync": {"status": sync_status.value, "revision": comparison.revision, **_revisions(app, comparison.revision)},
        "health": _app_health(comparison, children).as_dict(),
        "resources": resources,
        "conditions": conditions,
        "observedAt": observed,
        "reconciledAt": time.time(),
        "verified": comparison.verified,
        "dryRuns": comparison.dry_runs,
        # "watch", or "list: <why the watcher's index could not answer>"
        "liveState": comparison.live_source,
    }


def _app_health(comparison: Comparison, children: list[dict[str, Any]]) -> Health:
    """The worst of the app's resources and its child apps (app of apps)."""
    return worst([comparison.health] + [Health.from_dict(c["health"]) for c in children if c["health"]])


def _revisions(app: Application, revision: str) -> dict[str, Any]:
    """A multi-source app's revision of each source, in spec.sources order."""
    return {"revisions": revisions_of(revision)} if app.sources else {}


def _identity(app: Application | None) -> dict[str, Any]:
    if app is None:
        return {}
    return {
        "name": app.name,
        "project": app.project,
        "repoURL": app.source.repo_url,
        "path": app.source.path,
        "targetRevision": app.source.target_revision,
        "destination": {
            "server": app.destination.server,
            "name": app.destination.name,
            "namespace": app.destination.namespace,
        },
        **(
            {
                "sources": [
                    {"repoURL": s.repo_url, "path": s.path, "chart": s.chart, "targetRevision": s.target_revision,
                     "ref": s.ref, "name": s.name}
                    for s in app.sources
                ]
            }
            if app.sources
            else {}
        ),
        "automated": app.sync_policy.automated is not None,
        "prune": bool(app.sync_policy.automated and app.sync_policy.automated.prune),
        "selfHeal": bool(app.sync_policy.automated and app.sync_policy.automated.self_heal),
    }


def _error_status(
    name: str,
    app: Application | None,
    condition: str,
    message: str,
    observed: float,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    previous = previous or {}
    return {
        **previous,
        **_identity(app),
        "name": name,
        "sync": {"status": AppSyncStatus.UNKNOWN.value, "revision": (previous.get("sync") or {}).get("revision", "")},
        "health": previous.get("health") or {"status": "Unknown", "message": ""},
        "conditions": [{"type": condition, "message": message}],
        "observedAt": observed,
        "reconciledAt": time.time(),
    }


def decide_auto_sync(services: Services, app: Application, status: dict[str, Any]) -> SyncRequest | None:
    """Argo CD's automated-sync rules, on the status just computed."""
    store = services.store
    automated = app.sync_policy.automated
    if automated is None:
        return None
    if status["sync"]["status"] != AppSyncStatus.OUT_OF_SYNC.value:
        if status["sync"]["status"] == AppSyncStatus.SYNCED.value:
            store.reset_self_heal(app.name)
        return None
    if store.lock_holder(app.name) is not None:
        return None  # an operation is running; the next poll looks again
    if status.get("syncHeld"):
        return None  # a sync window holds it (written by refresh); the next poll looks again
    operation = store.operation_state(app.name) or {}
    if float(status.get("observedAt") or 0) < float(operation.get("finishedAt") or 0):
        # This comparison began before the last sync ended (a poll the sync's own writes queued,
        # decided only after its lock was released): what it saw is what that sync changed. The
        # poll the sync queued when it ended judges again; acting here would start a self-heal
        # that finds nothing to do (seen in the demo: a `selfheal` sync 21 ms after the push's).
        return None
    revision = status["sync"]["revision"]
    if store.failed_marker(app.name) == fingerprint_marker(revision, app):
        return None  # this revision and source already failed: wait for a new commit
    if operation.get("nextRetryAt") and operation.get("phase") == OperationPhase.RUNNING:
        return None  # a retry is scheduled and owns this revision
    last_synced = _last_synced_revision(services, app.name)
    if revision != last_synced:
        return SyncRequest(app=app.name, revision=revision, trigger="auto")
    if not automated.self_heal or operation.get("phase") not in (OperationPhase.SUCCEEDED, None):
        return None
    attempts, last_at = store.self_heal_state(app.name)
    if time.time() - last_at < self_heal_wait(attempts):
        # Argo CD requeues the app for when the backoff ends: with polls an hour apart and the
        # watcher's refresh already spent, nothing else would look at this drift again.
        store.poll_soon(app.name, last_at + self_heal_wait(attempts))
        return None
    store.record_self_heal(app.name, time.time())
    return SyncRequest(app=app.name, revision=revision, trigger="selfheal")


def _behind_last_sync(services: Services, app: Application, revision: str) -> bool:
    """For an automated app: some Git source resolved to a commit that is an ancestor of the one
    the last sync deployed from it (a branch or tag, not a pinned SHA)."""
    if app.sync_policy.automated is None:
        return False
    synced = revisions_of(_last_synced_revision(services, app.name))
    current = revisions_of(revision)
    sources = app.sources or (app.source,)
    if len(synced) != len(sources) or len(current) != len(sources):
        return False
    return any(
        not source.chart and not is_full_sha(source.target_revision.strip())
        and services.git.is_ancestor(source.repo_url, new, old)
        for source, old, new in zip(sources, synced, current, strict=True)
    )


def _last_synced_revision(services: Services, name: str) -> str:
    last = services.store.last_history_entry(name)
    return str(last["revision"]) if last else ""
