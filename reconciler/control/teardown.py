"""Forgetting an application, and with `cascade` deleting what it deployed.

Deletion is as careful as prune: only objects in the app's inventory that still carry
its tracking are deleted, each with a uid precondition. PreDelete hooks run and are awaited
before anything is deleted, PostDelete hooks after (delete_hooks.py), within one deadline. A
delete hook the app's project forbids refuses the whole cascade delete: the app is kept with a
DeletionError naming the hook and the rule.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from reconciler.control.catalog import UnknownApplication, load_application, project_for
from reconciler.control.delete_hooks import DELETE_HOOKS_POLL, DELETE_HOOKS_TIMEOUT, run_delete_hooks
from reconciler.engine.cluster import KubeError
from reconciler.engine.compare import owned_by
from reconciler.engine.crds import foreign_instances
from reconciler.engine.hooks import POST_DELETE, PRE_DELETE, Hook
from reconciler.engine.pipeline import AccessDenied, desired, object_scope
from reconciler.engine.plan import keeps_on_delete
from reconciler.engine.project_check import check_hooks
from reconciler.model import SpecError
from reconciler.model.resources import ResourceKey
from reconciler.services import Services
from reconciler.source.git.client import GitError
from reconciler.source.render import RenderError


@dataclass
class Teardown:
    deleted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    post_delete_hooks: list[str] = field(default_factory=list)  # each PostDelete hook and its outcome
    pre_delete_hooks: list[str] = field(default_factory=list)  # each PreDelete hook and its outcome


def delete_application(
    services: Services,
    name: str,
    *,
    cascade: bool,
    hook_timeout: float = DELETE_HOOKS_TIMEOUT,
    hook_poll: float = DELETE_HOOKS_POLL,
) -> Teardown:
    """Deregister `name`; with `cascade`, first run its PreDelete hooks and wait for them, then
    delete its child apps and its resources, then run its PostDelete hooks and wait for them.
    All hook waits of this delete (child apps' included) share one deadline, `hook_timeout`
    seconds from now, so the whole delete fits in the API's wait for a worker.

    Raises UnknownApplication when no such app is registered. When a PreDelete hook fails or
    does not finish in time nothing is deleted; when a cascade delete fails for some object,
    or a PostDelete hook fails or does not finish in time, the app stays registered so
    nothing is orphaned silently.
    """
    return _delete(services, name, cascade, time.monotonic() + hook_timeout, hook_timeout, hook_poll)


def _delete(services: Services, name: str, cascade: bool, deadline: float, budget: float, poll: float) -> Teardown:
    store = services.store
    if store.app_manifest(name) is None:
        raise UnknownApplication(name)
    result = Teardown()
    if cascade:
        hooks = _delete_hooks(services, name, result)
        if result.failed:  # a hook the project forbids: nothing runs, nothing is deleted
            store.set_deletion_problem(name, "; ".join(result.failed))
            return result
        pre = [hook for hook in hooks if PRE_DELETE in hook.phases]
        if pre and store.pre_delete_done(name):
            done = "completed in an earlier delete, not run again"
            result.pre_delete_hooks = [f"PreDelete hook {hook.describe()}: {done}" for hook in pre]
        elif pre:
            result.pre_delete_hooks = run_delete_hooks(services, name, PRE_DELETE, pre, result, deadline, budget, poll)
            if result.failed:  # as Argo CD: nothing is deleted until every PreDelete hook completed
                return result
            store.mark_pre_delete_done(name)
        for child in store.children_of(name):
            child_result = _delete(services, child, True, deadline, budget, poll)
            result.children.append(child)
            result.failed.extend(child_result.failed)
        _delete_resources(services, name, result)
        if result.failed:
            if store.pre_delete_done(name):  # its PreDelete hooks ran: it stays an app being deleted
                store.set_deletion_problem(name, "; ".join(result.failed))
            return result
        post = [hook for hook in hooks if POST_DELETE in hook.phases]
        result.post_delete_hooks = run_delete_hooks(services, name, POST_DELETE, post, result, deadline, budget, poll)
        if result.failed:
            return result
    store.delete_app(name)
    return result


def _delete_resources(services: Services, name: str, result: Teardown) -> None:
    try:
        app = load_application(services.store, name)
    except (UnknownApplication, SpecError) as exc:
        result.failed.append(f"{name}: {exc}")
        return
    cluster = services.clusters.for_destination(app.destination)
    for entry_id, entry in sorted(services.store.inventory(name).items()):
        key = ResourceKey.from_inventory_id(entry_id)
        try:
            live = cluster.get(entry["apiVersion"], key.kind, key.namespace or None, key.name)
            if live is None:
                services.store.remove_from_inventory(name, [entry_id])
                continue
            if not owned_by(live, name):
                result.skipped.append(f"{key}: no longer carries this app's tracking")
                continue
            foreign = foreign_instances(cluster, name, live) if key.kind == "CustomResourceDefinition" else []
            if foreign:
                result.failed.append(
                    f"{key}: not deleted: it would delete {len(foreign)} object(s) of its kind that application "
                    f"{name!r} does not own ({', '.join(foreign[:3])}); delete or move them first"
                )
                continue
            if keeps_on_delete(live):
                services.store.remove_from_inventory(name, [entry_id])
                result.skipped.append(f"{key}: kept (Delete=false or helm.sh/resource-policy: keep)")
                continue
            uid = (live.get("metadata") or {}).get("uid")
            cluster.delete(entry["apiVersion"], key.kind, key.namespace or None, key.name, uid=uid)
        except KubeError as exc:
            result.failed.append(str(exc))
            continue
        services.store.remove_from_inventory(name, [entry_id])
        result.deleted.append(str(key))


def _delete_hooks(services: Services, name: str, result: Teardown) -> list[Hook]:
    """The app's PreDelete and PostDelete hooks, rendered before anything is deleted. A render
    that fails does not keep the app (its repository may be gone): the result says the hooks
    did not run. A hook the app's project forbids is a failure (in `result.failed`): the delete
    is refused, as a sync with such a hook is."""
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
        forbidden = check_hooks(project, app, hooks, object_scope(cluster))
    except (UnknownApplication, SpecError, AccessDenied, GitError, RenderError, KubeError) as exc:
        result.skipped.append(f"{name}: PreDelete and PostDelete hooks not run: cannot render the app: {exc}")
        return []
    if forbidden:
        result.failed.append(f"cascade delete of {name!r} refused, nothing deleted: " + "; ".join(forbidden))
        return []
    return hooks
