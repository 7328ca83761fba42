"""Sync operations: a small state machine in Redis that each finishing task advances.

    start_sync(services, request) -> [Next]     take the app's lock, plan, store the steps
    run_step(services, op_id, index) -> [Next]  run one step, advance, say what runs next

An operation's id is its lock token. Every step first renews the lock with that token
(the fencing check): a step whose operation lost the lock writes nothing to a cluster.
Steps advance by compare-and-set on the step index, so a redelivered step (its worker
died) either runs again, which is safe (server-side apply is idempotent; prune re-checks
ownership), or finds the operation already past it and does nothing.

Steps: `apply` (a chunk of one wave, or a wave's hooks), `health` (wait until a wave's
objects are healthy, its new CRDs Established and served, and its hooks completed, before
anything after it; re-enqueued with a countdown, never a sleep), `prune` (one wave's
deletions; waits for `app confirm-prune` when a target has Prune=confirm), `finish`
(history, child apps, release). In phase order: PreSync hook waves, the Sync waves,
PostSync hook waves (reconciler/engine/hooks.py, control/hook_runner.py). When a step
fails, the operation's SyncFail hook steps replace what was left, then it ends Failed.
Sync windows are checked when the operation starts (control/windows.py), and a
termination asked for by `app terminate-op` ends it before its next step.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from reconciler.control.apply_options import Written, write_object
from reconciler.control.catalog import UnknownApplication, load_application
from reconciler.control.comparing import compare_registered
from reconciler.control.hook_runner import (
    check_hooks,
    crd_kind_unserved,
    create_hook,
    delete_hook_by_policy,
    hook_display,
    public_hook,
)
from reconciler.control.requests import Next, SyncRequest
from reconciler.control.windows import sync_allowed
from reconciler.engine.apply_mode import apply_mode
from reconciler.engine.cluster import Cluster, KubeError, UnknownKindError
from reconciler.engine.compare import (
    Comparison,
    not_served_error,
    owned_by,
    skips_dry_run_on_missing,
    verified_mark,
)
from reconciler.engine.crds import foreign_instances
from reconciler.engine.hooks import POST_SYNC, PRE_SYNC, SYNC, SYNC_FAIL, Hook
from reconciler.engine.pipeline import AccessDenied, revisions_of
from reconciler.engine.plan import PlanError, SyncPlan, Wave, build_plan
from reconciler.health import HealthStatus, assess
from reconciler.live.reader import LiveStateReader
from reconciler.model import (
    Application,
    SpecError,
    effective_retry,
    recorded_source,
    retry_delay,
    should_retry,
    with_source,
)
from reconciler.model.resources import ResourceKey
from reconciler.services import Services
from reconciler.source.git.client import GitError
from reconciler.source.render import RenderError, source_fingerprint
from reconciler.telemetry import record_sync

log = logging.getLogger("reconciler.sync")

APPLY_CHUNK = 40  # objects per apply step: keeps every step well inside the task time limit
HEALTH_WAIT_SECONDS = 300.0  # a wave that is not healthy by then fails the sync
OPERATION_TTL_SECONDS = 24 * 3600
# An ended operation is cut down to a stub (step -1: no step of it runs again), kept this long
# for redelivered steps; its steps, which hold every object it applied, go at once.
ENDED_OPERATION_TTL_SECONDS = 3600


class SyncRefused(Exception):
    """The sync must not run at all (policy, access control, invalid input); nothing is applied."""


def _ref(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    return {
        "apiVersion": obj.get("apiVersion", ""),
        "kind": obj.get("kind", ""),
        "namespace": meta.get("namespace") or "",
        "name": meta.get("name", ""),
    }


def unexpected(exc: BaseException) -> str:
    """One line for users about an exception nothing here expected; the traceback goes to the log."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"unexpected {type(exc).__name__} (see the worker log): {text[:300]}"


def fingerprint_marker(revision: str, app: Application) -> str:
    return f"{revision}:{source_fingerprint(app)}"


# --------------------------------------------------------------------------------------
# start
# --------------------------------------------------------------------------------------


def start_sync(services: Services, request: SyncRequest, lock_ttl: float, op_id: str = "") -> list[Next]:
    """Begin a sync operation, or remember the request when another sync holds the app.

    `op_id` should be stable across redeliveries of the same request (the task id): a worker
    that dies while preparing leaves the lock to that id, and the redelivered request
    resumes under it instead of waiting behind its own dead operation.
    """
    store = services.store
    store.clear_queued(request.app)
    try:
        app = load_application(store, request.app)
    except (UnknownApplication, SpecError):
        return []
    if request.trigger == "retry":
        current = store.operation_state(app.name) or {}
        if current.get("id") != request.retry_of:
            return []  # another sync ran since the failure: this retry is stale
    op_id = op_id or uuid.uuid4().hex
    resumed = store.lock_holder(app.name) == op_id and store.renew_lock(app.name, op_id, lock_ttl)
    if resumed:
        prepared = store.operation(op_id)
        if prepared is not None:  # the worker died after preparing: carry on, do not plan again
            resume = resume_point(prepared, -1)
            return [] if resume is None else [_next_for(prepared, resume)]
    if not resumed and not store.acquire_lock(app.name, op_id, lock_ttl):
        store.remember_pending_sync(app.name, request.to_dict())
        log.info("sync remembered: another sync holds the app", extra={"app": app.name, "trigger": request.trigger})
        return []
    log.info("sync started", extra={"app": app.name, "operation": op_id, "trigger": request.trigger})
    started = time.time()
    base_state = {
        "id": op_id,
        "phase": "Running",
        "message": "sync started",
        "trigger": request.trigger,
        "startedAt": started,
        "revision": request.revision,
        "retryCount": request.retry_count,
        "resources": [],
    }
    store.put_operation_state(app.name, base_state)
    try:
        op = _prepare(services, app, request, op_id, started)
    except SyncRefused as exc:
        return _end(services, app.name, op_id, request, phase="Failed", message=str(exc), retry=False)
    except (GitError, RenderError, KubeError, PlanError, SpecError) as exc:
        return _end(services, app.name, op_id, request, phase="Failed", message=str(exc), retry=True)
    except Exception as exc:  # a bug or an unhandled input: the operation ends, it never stays Running
        log.exception("sync preparation failed unexpectedly", extra={"app": app.name, "operation": op_id})
        return _end(services, app.name, op_id, request, phase="Error", message=unexpected(exc), retry=False)
    store.put_operation(op_id, op, OPERATION_TTL_SECONDS)
    store.put_operation_state(app.name, {**base_state, "revision": op["revision"], "message": op["message"]})
    return [_next_for(op, 0)]


def _effective_app(app: Application, request: SyncRequest) -> Application:
    """The app as this sync should see it: a rollback syncs the source recorded in history."""
    return app if request.source is None else with_source(app, request.source)


def _prepare(
    services: Services, app: Application, request: SyncRequest, op_id: str, started: float
) -> dict[str, Any]:
    app = _effective_app(app, request)
    store = services.store
    permission = sync_allowed(store, app, manual=request.trigger in ("user", "rollback"))
    if not permission.allowed:
        raise SyncRefused(permission.reason)
    try:
        result = compare_registered(
            services,
            app,
            revision=request.revision,
            fresh_refs=_wants_newest_commit(request),
            # What the last poll verified: unchanged objects, and missing ones it just dry-ran.
            verified=(store.status(app.name) or {}).get("verified") or {},
            # The watcher's index, as for a poll (Argo CD syncs from its watch-fed cache too): no
            # LIST per kind, each of which scans every object of the kind on the server. Where
            # the index cannot vouch for a kind or namespace, the cluster is listed as before.
            live=LiveStateReader(store, services.clusters.for_destination(app.destination).server),
        )
    except AccessDenied as exc:
        raise SyncRefused(str(exc)) from None
    if result.refused:
        raise SyncRefused(result.refused)
    desired, comparison = result.desired, result.comparison
    try:
        selected = {ResourceKey.from_inventory_id(s) for s in request.resources} or None
    except ValueError as exc:
        raise SyncRefused(f"resources: {exc}") from None
    plan = build_plan(
        app, desired.objects, comparison.diffs, prune=request.prune, resources=selected, hooks=desired.hooks
    )
    if plan.refused:
        raise SyncRefused(plan.refused)
    hooks: list[dict[str, Any]] = []
    steps = _steps(app, plan, comparison, hooks, desired.objects)
    sync_fail_steps = _hook_phase_steps(plan.hooks.sync_fail, SYNC_FAIL, hooks)
    prune_enabled = request.prune if request.prune is not None else bool(
        app.sync_policy.automated and app.sync_policy.automated.prune
    )
    return {
        "id": op_id,
        "app": app.name,
        "request": request.to_dict(),
        "revision": desired.revision,
        "source": recorded_source(app),
        "marker": fingerprint_marker(desired.revision, app),
        "steps": steps,
        "step": 0,
        "startedAt": started,
        "results": [],
        "children": desired.child_apps,
        "pruneChildren": prune_enabled,
        "message": f"syncing {len(plan.apply_keys)} to apply, {len(plan.prune_keys)} to prune"
        + (f", {len(hooks)} hook(s)" if hooks else ""),
        "hooks": hooks,
        # A self-heal that finds nothing to apply, prune or run is not recorded in history.
        "due": request.trigger != "selfheal" or bool(plan.apply_keys or plan.prune_keys or hooks),
        "syncFailSteps": sync_fail_steps,
        "failure": "",
        "confirmPrune": [k.inventory_id for k in plan.confirm_prune],
        "skipped": [{"resource": str(k), "message": why} for k, why in plan.prune_skipped],
    }


def _wants_newest_commit(request: SyncRequest) -> bool:
    # A person asking for a sync expects the newest commit, not one the shared ref listing
    # cached a few seconds ago; automated syncs already carry the revision their poll saw.
    return request.trigger in ("user", "rollback") and not request.revision


def _steps(
    app: Application,
    plan: SyncPlan,
    comparison: Comparison,
    hooks: list[dict[str, Any]],
    desired: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """PreSync hook waves, the Sync waves (objects, Sync hooks, prunes), PostSync hook waves,
    finish. A wave is followed by a `health` step whenever something comes after it: the next
    wave starts only when everything of this one is healthy and every hook of it completed."""
    uids = {r.key: r.live_uid for r in comparison.resources}
    steps: list[dict[str, Any]] = []
    if plan.namespace_to_create:
        metadata: dict[str, Any] = {"name": plan.namespace_to_create}
        if app.sync_policy.namespace_labels:
            metadata["labels"] = dict(app.sync_policy.namespace_labels)
        if app.sync_policy.namespace_annotations:
            metadata["annotations"] = dict(app.sync_policy.namespace_annotations)
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}
        steps.append({"type": "apply", "wave": None, "objects": [namespace], "track": False})
    early = _namespaces_for_hooks(plan)
    if early:  # a hook cannot run in a namespace the Sync phase would create only after it
        steps.append({"type": "apply", "wave": None, "objects": early, "track": True, "hooks": []})
    steps.extend(_hook_phase_steps(plan.hooks.pre_sync, PRE_SYNC, hooks))
    sync_waves = [w for w in plan.waves if w.apply or w.hooks or w.prune]
    for index, wave in enumerate(sync_waves):
        hook_ids = [_hook_record(hooks, hook, SYNC) for hook in wave.hooks]
        segments = _crd_segments(wave.apply)
        for number, segment in enumerate(segments):
            last = number == len(segments) - 1
            for start in range(0, len(segment), APPLY_CHUNK):
                chunk = segment[start : start + APPLY_CHUNK]
                steps.append({"type": "apply", "wave": wave.number, "objects": chunk, "track": True, "hooks": []})
            if not last:  # CRDs just applied: their kinds must be served before the rest of the wave
                crds = [_ref(obj) for obj in segment if _is_crd(obj)]
                steps.append(_health(wave.number, SYNC, crds, []))
        if hook_ids:
            steps.append({"type": "apply", "wave": wave.number, "objects": [], "track": True, "hooks": hook_ids})
        if wave.prune:
            targets = [{**_key_dict(k), "uid": uids.get(k, "")} for k in wave.prune]
            steps.append({"type": "prune", "wave": wave.number, "targets": targets})
        more = index < len(sync_waves) - 1
        if hook_ids or (more and wave.apply):
            steps.append(_health(wave.number, SYNC, [_ref(obj) for obj in wave.apply], hook_ids))
    if plan.hooks.post_sync:
        # PostSync runs once every resource of the app is healthy, the ones this sync left alone too.
        everything = [_ref(obj) for obj in (desired if desired is not None else [])]
        applied = [_ref(obj) for wave in sync_waves for obj in wave.apply]
        refs = everything or applied
        last = sync_waves[-1].number if sync_waves else None
        steps.append(_health(last, SYNC, refs, []))
    steps.extend(_hook_phase_steps(plan.hooks.post_sync, POST_SYNC, hooks))
    steps.append({"type": "finish"})
    return steps


def _namespaces_for_hooks(plan: SyncPlan) -> list[dict[str, Any]]:
    """The app's own Namespaces that hooks live in, taken out of their waves (to go first)."""
    phases = plan.hooks
    every_hook = [h for wave in phases.pre_sync + phases.post_sync + phases.sync_fail + plan.waves for h in wave.hooks]
    wanted = {str(h.meta.get("namespace") or "") for h in every_hook}
    early: list[dict[str, Any]] = []
    for wave in plan.waves:
        keep = []
        for obj in wave.apply:
            key = ResourceKey.of(obj)
            if key.group == "" and key.kind == "Namespace" and key.name in wanted:
                early.append(obj)
            else:
                keep.append(obj)
        wave.apply = keep
    return early


def _health(wave: int | None, phase: str, refs: list[dict[str, Any]], hook_ids: list[int]) -> dict[str, Any]:
    return {"type": "health", "wave": wave, "phase": phase, "refs": refs, "hooks": hook_ids, "since": None}


def _hook_phase_steps(waves: list[Wave], phase: str, hooks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for wave in waves:
        ids = [_hook_record(hooks, hook, phase) for hook in wave.hooks]
        steps.append({"type": "apply", "wave": wave.number, "phase": phase, "objects": [], "track": True, "hooks": ids})
        steps.append(_health(wave.number, phase, [], ids))
    return steps


def _hook_record(hooks: list[dict[str, Any]], hook: Hook, phase: str) -> int:
    """A hook's entry in the operation: what users see of it, and what the steps update."""
    meta = hook.meta
    hooks.append(
        {
            "id": len(hooks),
            "phase": phase,
            "wave": hook.wave,
            "apiVersion": hook.obj.get("apiVersion", ""),
            "kind": hook.obj.get("kind", ""),
            "namespace": meta.get("namespace") or "",
            "name": meta.get("name") or "",
            "generateName": meta.get("generateName") or "",
            "deletePolicies": list(hook.delete_policies),
            "status": "Pending",
            "message": "",
            "obj": hook.obj,
        }
    )
    return len(hooks) - 1


def _is_crd(obj: dict[str, Any]) -> bool:
    return obj.get("kind") == "CustomResourceDefinition" and str(obj.get("apiVersion", "")).startswith(
        "apiextensions.k8s.io/"
    )


def _crd_segments(objects: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split a wave's ordered objects after each run of CRDs that objects after it may need."""
    segments: list[list[dict[str, Any]]] = [[]]
    for obj in objects:
        if segments[-1] and _is_crd(segments[-1][-1]) and not _is_crd(obj):
            segments.append([])
        segments[-1].append(obj)
    return segments


def _key_dict(key: ResourceKey) -> dict[str, str]:
    return {"group": key.group, "kind": key.kind, "namespace": key.namespace, "name": key.name}


def resume_point(op: dict[str, Any], index: int) -> int | None:
    """The step a redelivered copy of the task for step `index` (-1: the task that started the
    operation) must enqueue again: the operation's current step when the task's worker may
    have died before handing it on (the very next step, or any step that task ran itself);
    None for a stale copy whose work another task carries on."""
    current = op.get("step")
    if not isinstance(current, int) or not index < current < len(op.get("steps") or []):
        return None
    if current == index + 1 or op.get("chainFrom") == index:
        return current
    return None


def _next_for(op: dict[str, Any], index: int, countdown: float = 0.0) -> Next:
    task = "prune" if op["steps"][index]["type"] == "prune" else "apply"
    return Next(task=task, args=(op["id"], index), countdown=countdown)


# --------------------------------------------------------------------------------------
# steps
# --------------------------------------------------------------------------------------


def run_step(
    services: Services,
    op_id: str,
    index: int,
    lock_ttl: float,
    max_countdown: float,
    redelivered: bool = False,
    chain_from: int | None = None,
) -> list[Next]:
    """Run step `index`. `chain_from`: the step whose task runs this one in the same task
    (workers run steps due at once back to back, saving a task hop each); -1 for the task
    that started the operation. Recorded with the advance, so a redelivered copy of that
    task knows the steps after it were its own and resumes them (`resume_point`)."""
    store = services.store
    op = store.operation(op_id)
    if op is None:
        return []  # finished
    if op.get("step") != index:
        # A copy of a step that already ran. When redelivered (its worker died) after advancing
        # but perhaps before enqueueing or running the next step, enqueue that step again: a
        # duplicate of it only repeats idempotent work and cannot advance the operation twice.
        resume = resume_point(op, index) if redelivered else None
        return [] if resume is None else [_next_for(op, resume)]
    op["chainFrom"] = index if chain_from is None else chain_from
    app_name = op["app"]
    request = SyncRequest.from_dict(op["request"])
    if not store.renew_lock(app_name, op_id, lock_ttl):
        _write_state(services, op, phase="Error", message="the sync lost its lock (it ran longer than the lock TTL)")
        return []
    step = op["steps"][index]
    if store.termination_requested(op_id) and not op.get("terminated"):
        op["terminated"] = True
        return _fail(services, op_id, index, op, request, "terminated by user", retry=False, run_sync_fail=False)
    try:
        app = _effective_app(load_application(store, app_name), request)
        cluster = services.clusters.for_destination(app.destination)
        runner = _RUNNERS[step["type"]]
        outcome = runner(services, app, cluster, op, step)
    except UnknownApplication:
        store.release_lock(app_name, op_id)
        return []
    except (KubeError, GitError, RenderError, SpecError) as exc:
        return _fail(services, op_id, index, op, request, str(exc), retry=True)
    except Exception as exc:  # a bug or an unhandled input: the operation ends, it never stays Running
        log.exception("sync step failed unexpectedly", extra={"app": app_name, "operation": op_id})
        return _end(services, app_name, op_id, request, phase="Error", message=unexpected(exc), retry=False, op=op)
    if outcome.failed:
        return _fail(services, op_id, index, op, request, outcome.failed, retry=True)
    if outcome.wait is not None:
        step.update(outcome.step_update)
        store.advance_operation(op_id, index, op)
        if outcome.message:
            _write_state(services, op, phase="Running", message=outcome.message)
        return [Next("apply", (op_id, index), countdown=min(outcome.wait, max_countdown))]
    op["results"].extend(outcome.results)
    if step["type"] == "finish":
        if op.get("failure"):  # the SyncFail hooks ran: the sync itself failed
            return _end(services, app_name, op_id, request, phase="Failed", message=op["failure"], retry=True, op=op)
        return _end(services, app_name, op_id, request, phase="Succeeded", message=outcome.message, retry=False, op=op)
    op["step"] = index + 1
    if not store.advance_operation(op_id, index, op):
        return []
    _write_state(services, op, phase="Running", message=f"step {index + 1} of {len(op['steps'])} done")
    # Argo CD pauses between waves (2 s there) so controllers see the previous wave's objects.
    delay = services.settings.sync_wave_delay if step["type"] == "health" else 0.0
    return [_next_for(op, index + 1, countdown=delay)]


def _fail(
    services: Services,
    op_id: str,
    index: int,
    op: dict[str, Any],
    request: SyncRequest,
    message: str,
    *,
    retry: bool,
    run_sync_fail: bool = True,
) -> list[Next]:
    """The sync failed at step `index`: run its SyncFail hooks first (once), then end Failed."""
    sync_fail = op.get("syncFailSteps") or []
    if op.get("failure") or not sync_fail or not run_sync_fail:
        if op.get("failure"):
            during = "then a SyncFail hook failed" if run_sync_fail else "while its SyncFail hooks ran"
            message = f"{op['failure']}; {during}: {message}"
        return _end(services, op["app"], op_id, request, phase="Failed", message=message, retry=retry, op=op)
    op["failure"] = message
    op["syncFailSteps"] = []
    op["steps"] = op["steps"][: index + 1] + sync_fail + [{"type": "finish"}]
    op["step"] = index + 1
    if not services.store.advance_operation(op_id, index, op):
        return []
    _write_state(services, op, phase="Running", message=f"{message}; running SyncFail hooks")
    return [_next_for(op, index + 1)]


@dataclasses.dataclass
class _Outcome:
    results: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    failed: str = ""
    wait: float | None = None  # run this step again after this many seconds
    step_update: dict[str, Any] = dataclasses.field(default_factory=dict)
    message: str = ""


def _apply_step(
    services: Services, app: Application, cluster: Cluster, op: dict[str, Any], step: dict[str, Any]
) -> _Outcome:
    outcome = _Outcome()
    errors: list[str] = []
    tracked: dict[str, dict[str, Any]] = {}
    verified: dict[str, str] = {}
    unserved: list[str] = []
    for obj in step["objects"]:
        key = ResourceKey.of(obj)
        try:
            if step.get("track", True):
                written = write_object(cluster, app, obj)
            else:  # the namespace of CreateNamespace=true: not the app's, no options of its own
                cluster.apply(obj)
                written = Written("applied")
        except UnknownKindError:
            if skips_dry_run_on_missing(app, obj):
                unserved.append(f"{key}: kind {key.kind} ({obj.get('apiVersion')}) to be served")
                continue
            message = not_served_error(key, obj)
            errors.append(f"{key}: {message}")
            outcome.results.append({"resource": str(key), "status": "SyncFailed", "message": message})
            continue
        except KubeError as exc:
            errors.append(str(exc))
            outcome.results.append({"resource": str(key), "status": "SyncFailed", "message": str(exc)})
            continue
        if written.wait:
            unserved.append(written.wait)
            continue
        outcome.results.append({"resource": str(key), "status": "Synced", "message": written.message})
        if step.get("track", True):
            tracked[key.inventory_id] = _ref(obj)
        if written.applied is not None:
            # A server-side apply's answer holds our Apply entry for exactly this manifest.
            applied = written.applied if written.server_side else None
            verified[str(key)] = verified_mark(written.applied, obj, cluster.field_manager, applied)
    services.store.add_to_inventory(app.name, tracked)
    services.store.note_applied(app.name, verified)
    if errors:
        outcome.failed = "one or more objects failed to apply: " + "; ".join(errors)
        return outcome
    if unserved:
        # SkipDryRunOnMissingResource: someone else installs the CRD; wait for it, within a limit.
        since = step.get("since") or time.time()
        timeout = services.settings.missing_kind_timeout
        if time.time() - since > timeout:
            outcome.failed = f"waited {timeout:.0f}s for {unserved[0]}"
            if "to be served" in unserved[0]:
                outcome.failed += "; install its CustomResourceDefinition"
            return outcome
        attempts = int(step.get("attempts", 0)) + 1
        first = unserved[0]
        message = first if first.startswith("Force=true") else f"SkipDryRunOnMissingResource: waiting for {first}"
        update = {"since": since, "attempts": attempts}
        return _Outcome(wait=min(0.5 * attempts, 5.0), step_update=update, message=message)
    for hook_id in step.get("hooks") or []:
        record = op["hooks"][hook_id]
        if record["status"] != "Pending":
            continue  # created by an earlier run of this step
        waiting = create_hook(cluster, app.name, record, op["id"], apply_mode(app, record["obj"]))
        if waiting:
            attempts = int(step.get("attempts", 0)) + 1
            return _Outcome(wait=min(0.5 * attempts, 5.0), step_update={"attempts": attempts}, message=waiting)
        if record["status"] == "Failed":
            outcome.failed = f"{record['phase']} hook {hook_display(record)}: {record['message']}"
            return outcome
    return outcome


def _health_step(
    services: Services, app: Application, cluster: Cluster, op: dict[str, Any], step: dict[str, Any]
) -> _Outcome:
    since = step.get("since") or time.time()
    waiting: list[str] = []
    for ref in step["refs"]:
        live = cluster.get(ref["apiVersion"], ref["kind"], ref["namespace"] or None, ref["name"])
        key = ResourceKey.of(live) if live else None
        if live is None:
            waiting.append(f"{ref['kind']} {ref['name']} is missing")
            continue
        health = assess(live)
        if health.status == HealthStatus.Degraded:
            return _Outcome(failed=f"wave {step['wave']}: {key} is Degraded: {health.message}")
        if health.status not in (HealthStatus.Healthy, HealthStatus.Suspended):
            waiting.append(f"{key} is {health.status.value}")
        elif ref["kind"] == "CustomResourceDefinition":
            unserved = crd_kind_unserved(cluster, live)
            if unserved:
                waiting.append(unserved)
    hooks_waiting, failed = check_hooks(cluster, op, step.get("hooks") or [])
    if failed:
        return _Outcome(failed=failed)
    if not waiting and not hooks_waiting:
        return _Outcome()
    attempts = int(step.get("attempts", 0)) + 1
    update = {"since": since, "attempts": attempts}
    if waiting and time.time() - since > HEALTH_WAIT_SECONDS:
        return _Outcome(failed=f"wave {step['wave']} not healthy after {HEALTH_WAIT_SECONDS:.0f}s: {waiting[0]}")
    first = (waiting + hooks_waiting)[0]
    phase = step.get("phase") or SYNC
    message = f"{phase} wave {step['wave']}: waiting for {first}"
    return _Outcome(wait=min(0.5 * attempts, 5.0), step_update=update, message=message)


def _prune_step(
    services: Services, app: Application, cluster: Cluster, op: dict[str, Any], step: dict[str, Any]
) -> _Outcome:
    outcome = _Outcome()
    confirm = set(op.get("confirmPrune") or [])
    needing = [t for t in step["targets"] if _target_key(t).inventory_id in confirm]
    if needing and not services.store.prune_confirmed(app.name):
        names = ", ".join(str(_target_key(t)) for t in needing[:3])
        attempts = int(step.get("attempts", 0)) + 1
        return _Outcome(
            wait=min(1.0 * attempts, 5.0),
            step_update={"attempts": attempts},
            message=f"waiting for `reconciler app confirm-prune {app.name}` to delete {names} (Prune=confirm)",
        )
    inventory = services.store.inventory(app.name)
    propagation = _prune_propagation(app)
    errors: list[str] = []
    for target in step["targets"]:
        key = ResourceKey(target["group"], target["kind"], target["namespace"], target["name"])
        entry = inventory.get(key.inventory_id)
        if entry is None:
            outcome.results.append(
                {"resource": str(key), "status": "PruneSkipped", "message": "not in the app's inventory"}
            )
            continue
        live = cluster.get(entry["apiVersion"], key.kind, key.namespace or None, key.name)
        if live is None:
            services.store.remove_from_inventory(app.name, [key.inventory_id])
            outcome.results.append({"resource": str(key), "status": "Pruned", "message": "already gone"})
            continue
        # Re-check ownership right before the delete: tracking, and the very object we planned on.
        uid = (live.get("metadata") or {}).get("uid", "")
        if not owned_by(live, app.name) or (target.get("uid") and target["uid"] != uid):
            outcome.results.append(
                {"resource": str(key), "status": "PruneSkipped", "message": "no longer carries this app's tracking"}
            )
            continue
        foreign = foreign_instances(cluster, app.name, live) if _is_crd(live) else []
        if foreign:
            message = (
                f"not deleted: deleting this CustomResourceDefinition would delete {len(foreign)} object(s) of its "
                f"kind that this app does not own ({', '.join(foreign[:3])}); delete or move them first"
            )
            errors.append(f"{key}: {message}")
            outcome.results.append({"resource": str(key), "status": "PruneFailed", "message": message})
            continue
        try:
            cluster.delete(
                entry["apiVersion"], key.kind, key.namespace or None, key.name, propagation=propagation, uid=uid
            )
        except KubeError as exc:
            errors.append(str(exc))  # stays in the inventory: pruned again next time
            outcome.results.append({"resource": str(key), "status": "PruneFailed", "message": str(exc)})
            continue
        services.store.remove_from_inventory(app.name, [key.inventory_id])
        outcome.results.append({"resource": str(key), "status": "Pruned", "message": "pruned"})
    if errors:
        outcome.failed = "one or more objects failed to prune: " + "; ".join(errors)
    return outcome


def _target_key(target: dict[str, Any]) -> ResourceKey:
    return ResourceKey(target["group"], target["kind"], target["namespace"], target["name"])


def _prune_propagation(app: Application) -> str:
    value = (app.sync_policy.option("PrunePropagationPolicy") or "foreground").lower()
    return {"background": "Background", "orphan": "Orphan"}.get(value, "Foreground")


def _finish_step(
    services: Services, app: Application, cluster: Cluster, op: dict[str, Any], step: dict[str, Any]
) -> _Outcome:
    from reconciler.control.children import reconcile_children

    if op.get("failure"):
        return _Outcome(message=op["failure"])
    message = reconcile_children(services, app.name, op["children"], prune=bool(op.get("pruneChildren")))
    return _Outcome(message=message or "successfully synced")


_RUNNERS: dict[str, Callable[[Services, Application, Cluster, dict[str, Any], dict[str, Any]], _Outcome]] = {
    "apply": _apply_step,
    "health": _health_step,
    "prune": _prune_step,
    "finish": _finish_step,
}


# --------------------------------------------------------------------------------------
# end
# --------------------------------------------------------------------------------------


def _write_state(services: Services, op: dict[str, Any], **changes: Any) -> None:
    state = services.store.operation_state(op["app"]) or {}
    if state.get("id") not in (None, op["id"]):
        return  # a newer operation owns the visible state
    state.update(
        {
            "id": op["id"],
            "revision": op.get("revision", ""),
            "resources": op.get("results", []) + op.get("skipped", []),
            "hooks": [public_hook(record) for record in op.get("hooks", [])],
            **changes,
        }
    )
    services.store.put_operation_state(op["app"], state)


def _end(
    services: Services,
    app_name: str,
    op_id: str,
    request: SyncRequest,
    *,
    phase: str,
    message: str,
    retry: bool,
    op: dict[str, Any] | None = None,
) -> list[Next]:
    """Record how the operation ended, schedule a retry if the policy allows, release the
    lock, and hand back what must run next (a remembered sync, a fresh poll)."""
    store = services.store
    now = time.time()
    op = op or {"id": op_id, "app": app_name, "revision": request.revision, "results": [], "skipped": []}
    state: dict[str, Any] = {"phase": phase, "message": message, "finishedAt": now, "retryCount": request.retry_count}
    if phase == "Succeeded" and op.get("due", True):
        app = load_application(store, app_name)
        store.append_history(
            app_name,
            {
                "revision": op["revision"],
                "deployedAt": now,
                "deployStartedAt": op.get("startedAt", now),
                "source": op.get("source", {}),
                # A multi-source app's composite revision, one per source (a one-element list otherwise).
                "revisions": revisions_of(op["revision"]),
                "initiatedBy": request.trigger,
            },
            limit=app.revision_history_limit,
        )
        store.clear_failed(app_name)
    elif retry:
        app = _try_load(services, app_name)
        policy = effective_retry(app) if app else None
        if app is not None and should_retry(policy, request.retry_count):
            assert policy is not None
            delay = retry_delay(policy, request.retry_count)
            retry_request = dataclasses.replace(
                request,
                trigger="retry",
                retry_count=request.retry_count + 1,
                retry_of=op_id,
                revision=op.get("revision") or request.revision,
                requested_at=now,
            )
            store.defer(retry_request.to_dict(), at=now + delay)
            state.update(
                {
                    "phase": "Running",
                    "retryCount": request.retry_count + 1,
                    "nextRetryAt": now + delay,
                    "message": f"{message} (retrying attempt #{request.retry_count + 1} in {delay:.0f}s)",
                }
            )
        elif app is not None and request.trigger in ("auto", "selfheal", "retry") and op.get("revision"):
            store.mark_failed(app_name, fingerprint_marker(op["revision"], app))
    _delete_finished_hooks(services, op)
    if op.get("confirmPrune"):
        store.clear_prune_confirmation(app_name)  # a confirmation is for one operation
    _write_state(services, op, **state)
    log.log(
        logging.INFO if phase == "Succeeded" else logging.WARNING,
        "sync %s: %s", state["phase"] if not state.get("nextRetryAt") else "will retry", state["message"],
        extra={"app": app_name, "operation": op_id, "revision": op.get("revision"), "phase": state["phase"]},
    )
    if state["phase"] != "Running":
        record_sync(store, app_name, state["phase"])
    store.release_lock(app_name, op_id)
    store.end_operation(op_id, app_name, state["phase"], ENDED_OPERATION_TTL_SECONDS)
    follow: list[Next] = [Next("poll", (app_name,), urgent=True)]
    pending = store.take_pending_sync(app_name)
    if pending:
        follow.append(Next("sync", (pending,), urgent=True))
    return follow


def _delete_finished_hooks(services: Services, op: dict[str, Any]) -> None:
    """HookSucceeded / HookFailed hooks go once the operation ends; a failure to delete one is
    written on the hook, not raised (the sync's outcome stands)."""
    if not any(r["status"] in ("Succeeded", "Failed") for r in op.get("hooks") or []):
        return
    app = _try_load(services, op["app"])
    if app is None:
        return
    try:
        cluster = services.clusters.for_destination(app.destination)
    except KubeError:
        return
    for record in op.get("hooks") or []:
        delete_hook_by_policy(cluster, record)


def _try_load(services: Services, app_name: str) -> Application | None:
    try:
        return load_application(services.store, app_name)
    except (UnknownApplication, SpecError):
        return None

