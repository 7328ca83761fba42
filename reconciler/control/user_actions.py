"""What a user can ask of the system, shared by the CLI and the HTTP API.

Each function validates the request and returns plain data or a SyncRequest for the
caller to enqueue; a refusal is an `ActionRefused` whose message says what to do.
"""

from __future__ import annotations

from typing import Any

from reconciler.control.catalog import UnknownApplication, load_application, register
from reconciler.control.notifications.status import notifications_summary
from reconciler.control.requests import SyncRequest
from reconciler.control.windows import sync_allowed
from reconciler.core.errors import InputError
from reconciler.model import Application, AppProject, SpecError
from reconciler.model.operation import OperationPhase
from reconciler.model.resources import ResourceKey
from reconciler.state import Store
from reconciler.state.registry import PARENT_OWNER_PREFIX

ROLLBACK_REFUSED_AUTOSYNC = "rollback cannot be initiated when auto-sync is enabled"


class ActionRefused(InputError):
    """The request is understood but not allowed; nothing was changed."""


class SyncHeld(ActionRefused):
    """A sync window of the app's project does not allow this sync now."""


def create(store: Store, documents: list[Application | AppProject], *, owner: str) -> list[str]:
    """Register or update Applications and AppProjects for `owner` (`api` or `cli`, recorded so
    that no app-of-apps parent overwrites them); returns the application names."""
    return register(store, documents, owner=owner, first_poll_in=0)


def summary(store: Store, name: str, status: dict[str, Any] | None, manifest: dict[str, Any]) -> dict[str, Any]:
    """One line of `app list`: what runs (status) against what should run (the manifest)."""
    status = status or {}
    operation = store.operation_state(name) or {}
    history = store.history(name)
    owner = store.app_owner(name)
    spec = manifest.get("spec") or {}
    source = spec.get("source") or {}
    destination = spec.get("destination") or {}
    return {
        "name": name,
        "project": spec.get("project") or "default",
        "repoURL": source.get("repoURL", ""),
        "path": source.get("path", ""),
        "targetRevision": source.get("targetRevision") or "HEAD",
        "destination": {k: destination.get(k, "") for k in ("server", "name", "namespace")},
        "sync": (status.get("sync") or {}).get("status", "Unknown"),
        "revision": (status.get("sync") or {}).get("revision", ""),
        "health": (status.get("health") or {}).get("status", "Unknown"),
        "syncedRevision": history[-1]["revision"] if history else "",
        "lastSync": {
            "phase": operation.get("phase", ""),
            "finishedAt": operation.get("finishedAt"),
            "message": operation.get("message", ""),
        },
        "automated": _automated(spec),
        "parent": owner.removeprefix(PARENT_OWNER_PREFIX) if owner.startswith(PARENT_OWNER_PREFIX) else "",
        # Who registered it (api, cli, parent:<app>): a parent never overwrites another's app.
        "owner": owner,
    }


def _automated(spec: dict[str, Any]) -> bool:
    """As reconciler.model reads it: `automated: {}` is on, no value or `enabled: false` is off."""
    automated = (spec.get("syncPolicy") or {}).get("automated")
    return isinstance(automated, dict) and automated.get("enabled", True) is not False


def list_apps(store: Store) -> list[dict[str, Any]]:
    """Every app's `summary`, read in bulk (control/app_rows.py), sorted by name."""
    from reconciler.control.app_rows import rows

    return rows(store)


def get_app(store: Store, name: str) -> dict[str, Any]:
    """Everything known about one app: spec, status, resources, operation, history."""
    manifest = store.app_manifest(name)
    if manifest is None:
        raise UnknownApplication(name)
    status = store.status(name) or {}
    detail = summary(store, name, status, manifest)
    detail.update(
        {
            "manifest": manifest,
            "resources": status.get("resources", []),
            "conditions": status.get("conditions", []),
            "operation": store.operation_state(name),
            "history": store.history(name),
            "children": store.children_of(name),
            "observedAt": status.get("observedAt"),
            "syncWindows": status.get("syncWindows") or [],
            "syncHeld": status.get("syncHeld", ""),
            # "watch" (the watcher's index), or "list: <why the watcher could not answer>"
            "liveState": status.get("liveState"),
            # Argo CD Notifications: last deliveries and failures, retries under way, problems
            "notifications": notifications_summary(store, name),
        }
    )
    return detail


def sync(
    store: Store,
    name: str,
    *,
    revision: str = "",
    prune: bool = False,
    resources: list[str] | None = None,
    trigger: str = "user",
) -> SyncRequest:
    """A user's sync. As in Argo CD, a manual sync prunes only when asked to, and a sync
    window may refuse it (manualSync)."""
    _ensure_registered(store, name)
    app = _load(store, name)
    deleting = store.deletion_problem(name)
    if deleting:
        raise ActionRefused(
            f"application {name!r} is being deleted ({deleting}); run `app delete {name} --cascade` again"
        )
    if store.delete_request(name) is not None:
        raise ActionRefused(f"application {name!r} is being deleted (`app delete --cascade` asked for it)")
    permission = sync_allowed(store, app, manual=True)
    if not permission.allowed:
        raise SyncHeld(f"application {name!r}: {permission.reason}")
    for resource in resources or []:
        try:
            ResourceKey.from_inventory_id(resource)
        except ValueError as exc:
            raise ActionRefused(str(exc)) from None
    return SyncRequest(app=name, revision=revision, prune=prune, resources=tuple(resources or ()), trigger=trigger)


def rollback(store: Store, name: str, history_id: int, *, prune: bool = False) -> SyncRequest:
    """A sync to the revision and source a history entry recorded; refused while automated
    sync is on (it would undo the rollback at the next poll), as in Argo CD."""
    app = _load(store, name)
    if app.automated:
        raise ActionRefused(
            f"{ROLLBACK_REFUSED_AUTOSYNC}: application {name!r} has syncPolicy.automated; "
            "turn automated sync off first, then roll back"
        )
    entries = {int(h["id"]): h for h in store.history(name)}
    entry = entries.get(int(history_id))
    if entry is None:
        known = ", ".join(str(i) for i in sorted(entries)) or "none yet"
        raise ActionRefused(f"application {name!r} has no history entry {history_id} (ids: {known})")
    return SyncRequest(
        app=name,
        revision=entry["revision"],
        prune=prune,
        trigger="rollback",
        source=entry.get("source") or None,
        rollback_id=int(history_id),
    )


def _load(store: Store, name: str) -> Application:
    try:
        return load_application(store, name)
    except SpecError as exc:
        raise ActionRefused(f"application {name!r} is registered but invalid: {exc}") from None


def _ensure_registered(store: Store, name: str) -> None:
    if store.app_manifest(name) is None:
        raise UnknownApplication(name)


TERMINATE_TTL_SECONDS = 3600.0
CONFIRM_PRUNE_TTL_SECONDS = 3600.0


def terminate_operation(store: Store, name: str) -> dict[str, Any]:
    """Ask the app's running sync to stop before its next step (Argo CD's terminate-op): it is
    Terminating until then; its running hooks are stopped, it ends Failed with "terminated by
    user" and releases the lock."""
    _ensure_registered(store, name)
    operation = store.operation_state(name) or {}
    holder = store.lock_holder(name)
    running = operation.get("phase") in (OperationPhase.RUNNING, OperationPhase.TERMINATING)
    if not running or not holder or holder != operation.get("id"):
        phase = operation.get("phase") or "none yet"
        raise ActionRefused(f"application {name!r} has no running operation to terminate (last operation: {phase})")
    store.request_termination(holder, TERMINATE_TTL_SECONDS)
    # As Argo CD shows it until the operation stops (before its next step).
    store.put_operation_state(name, {**operation, "phase": OperationPhase.TERMINATING, "message": "terminating"})
    return {"application": name, "operation": holder, "message": "termination requested"}


def confirm_prune(store: Store, name: str) -> dict[str, Any]:
    """Let the app's sync delete its objects marked Prune=confirm (the sync waits for this)."""
    _ensure_registered(store, name)
    store.confirm_prune(name, CONFIRM_PRUNE_TTL_SECONDS)
    return {"application": name, "message": "prune confirmed: objects marked Prune=confirm may be deleted"}
