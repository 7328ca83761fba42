"""Forgetting an application, and with `cascade` deleting what it deployed.

    deregister(store, name) -> bool                       forget the app now (no cascade)
    request_delete(store, name) -> DeleteRequest          ask for a cascade delete (the API, the CLI)
    delete_and_wait(store, name, enqueue, timeout)        ask, hand it to a worker, wait for its reply
    delete_hooks_of(services, name)                       the app's PreDelete and PostDelete hooks

A worker begins the delete with control/sync/delete_start.py `start_delete`.

A cascade delete is an operation of the same state machine as a sync (control/sync/): it
takes the app's lock, so it waits while a sync runs and starts when that sync ends (or is
terminated), as Argo CD defers an app's deletion until its operation ends. Its steps:
PreDelete hooks (every one awaited), child apps, the app's resources, PostDelete hooks,
deregister; no task ever sleeps. The caller waits for the reply the operation's end leaves.

Deletion is as careful as prune: only objects in the app's inventory that still carry
its tracking are deleted, each with a uid precondition. A delete hook the app's project
forbids refuses the whole cascade delete before anything runs: the app is kept with a
DeletionError naming the hook and the rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.control.catalog import UnknownApplication, load_application, project_for
from reconciler.control.notifications import decide_notifications
from reconciler.control.requests import Next
from reconciler.control.sync.operation import DeleteRequest, Teardown
from reconciler.control.sync.ports import Deletions
from reconciler.core.errors import InputError, ReconcilerError
from reconciler.engine.hooks import POST_DELETE, PRE_DELETE, Hook
from reconciler.engine.pipeline import desired, object_scope
from reconciler.engine.project_check import check_hooks
from reconciler.services import Services
from reconciler.settings import Settings
from reconciler.state import Store

DELETE_HOOKS_TIMEOUT = 40.0  # PreDelete and PostDelete waits together, from the start of the delete
REPLY_TTL_SECONDS = 300.0


@dataclass(frozen=True)
class DeleteReply:
    """What the caller of a delete learns: the app was not registered, the delete waits for a
    running sync (`deferred` says so), or what it did (`teardown`; `failed` set: app kept)."""

    found: bool
    deferred: str = ""
    teardown: Teardown | None = None

    @classmethod
    def from_json(cls, reply: dict[str, object]) -> DeleteReply:
        teardown = reply.get("teardown")
        return cls(
            found=bool(reply.get("found")),
            deferred=str(reply.get("deferred") or ""),
            teardown=Teardown.model_validate(teardown) if isinstance(teardown, dict) else None,
        )


def deleted_body(name: str, teardown: Teardown) -> dict[str, object]:
    """The answer to a delete that went through (what `app delete -o json` and the API show)."""
    return {"deleted": name, **{k: v for k, v in teardown.to_json().items() if k != "failed"}}


def deferred_body(name: str, message: str) -> dict[str, object]:
    """The answer to a cascade delete that waits for the app's running sync."""
    return {"deleting": name, "message": message}


def deregister(store: Store, name: str, settings: Settings | None = None) -> bool:
    """Forget `name` and all of its state now, leaving its resources; False when unknown.
    With `settings`, its on-deleted notifications are decided first (while its state is there)."""
    if store.app_manifest(name) is None:
        return False
    if settings is not None:
        decide_notifications(store, settings, name, deleting=True)
    return store.delete_app(name)


def request_delete(deletions: Deletions, name: str, hook_timeout: float = DELETE_HOOKS_TIMEOUT) -> DeleteRequest:
    """Ask for a cascade delete of `name` (the one already asked for, if any). From now on no
    sync of the app starts; the delete runs once no sync holds the app."""
    existing = deletions.delete_request(name)
    if existing is not None:
        return DeleteRequest.model_validate(existing)
    request = DeleteRequest(app=name, request_id=uuid.uuid4().hex, hook_timeout=hook_timeout)
    deletions.request_delete(name, request.to_json())
    return request


def delete_and_wait(
    store: Store, name: str, enqueue: Callable[[DeleteRequest], object], timeout: float,
    hook_timeout: float = DELETE_HOOKS_TIMEOUT,
) -> DeleteReply | None:
    """A cascade delete as the API and the CLI run it: ask, hand it to a worker, and wait for
    the worker's reply (None when none came within `timeout`)."""
    if store.app_manifest(name) is None:
        raise UnknownApplication(name)
    request = request_delete(store, name, hook_timeout)
    enqueue(request)
    reply = store.wait_reply(request.request_id, timeout)
    return None if reply is None else DeleteReply.from_json(reply)


class DeleteRefused(InputError):
    """A cascade delete must not run at all: a delete hook the app's project forbids."""


def delete_hooks_of(services: Services, name: str) -> tuple[list[Hook], tuple[str, ...]]:
    """The app's PreDelete and PostDelete hooks, rendered before anything is deleted, and why
    they will not run (a render that fails does not keep the app: its repository may be gone).
    DeleteRefused when a hook the app's project forbids is among them, as a sync with such a
    hook is refused."""
    try:
        app = load_application(services.store, name)
        project, problem = project_for(services.store, app)
        cluster = services.clusters.for_destination(app.destination)
        state = desired(
            app, project, services.git, cluster_scoped=cluster.cluster_scoped_kinds(),
            cache=(services.store.cached_render, services.store.cache_render), project_problem=problem,
        )
        hooks = [hook for hook in state.hooks if PRE_DELETE in hook.phases or POST_DELETE in hook.phases]
        assert project is not None  # desired() raised AccessDenied otherwise
        forbidden = check_hooks(project, app, hooks, object_scope(cluster), cluster.managed_scope)
    except ReconcilerError as exc:
        return [], (f"{name}: PreDelete and PostDelete hooks not run: cannot render the app: {exc}",)
    if forbidden:
        raise DeleteRefused(f"cascade delete of {name!r} refused, nothing deleted: " + "; ".join(forbidden))
    return hooks, ()


def next_delete(request: DeleteRequest) -> Next:
    return Next("delete", (request.to_json(),), urgent=True)


def delete_without_waiting(store: Store, settings: Settings, name: str, *, cascade: bool) -> DeleteRequest | None:
    """Delete `name` the way an app-of-apps or an ApplicationSet removes an app it no longer
    renders: with `cascade`, a delete operation is asked for and returned for the caller to
    queue (beat's watchdog hands on one nobody queued); otherwise it is forgotten now, its
    resources left."""
    if not cascade:
        deregister(store, name, settings)
        return None
    return request_delete(store, name)
