"""Forgetting an application, and with `cascade` deleting what it deployed.

Deletion is as careful as prune: only objects in the app's inventory that still carry
its tracking are deleted, each with a uid precondition. PostDelete hooks then run and are
awaited (post_delete.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.control.catalog import UnknownApplication, load_application, project_for
from reconciler.control.post_delete import POST_DELETE_HOOK_POLL, POST_DELETE_HOOK_TIMEOUT, run_post_delete_hooks
from reconciler.engine.cluster import KubeError
from reconciler.engine.compare import owned_by
from reconciler.engine.crds import foreign_instances
from reconciler.engine.hooks import POST_DELETE, Hook
from reconciler.engine.pipeline import AccessDenied, desired
from reconciler.engine.plan import keeps_on_delete
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


def delete_application(
    services: Services,
    name: str,
    *,
    cascade: bool,
    hook_timeout: float = POST_DELETE_HOOK_TIMEOUT,
    hook_poll: float = POST_DELETE_HOOK_POLL,
) -> Teardown:
    """Deregister `name`; with `cascade`, first delete its resources and its child apps', then
    run its PostDelete hooks and wait for them (at most `hook_timeout` seconds).

    Raises UnknownApplication when no such app is registered. When a cascade delete
    fails for some object, or a PostDelete hook fails or does not finish in time, the app
    stays registered so nothing is orphaned silently.
    """
    store = services.store
    if store.app_manifest(name) is None:
        raise UnknownApplication(name)
    result = Teardown()
    if cascade:
        for child in store.children_of(name):
            child_result = delete_application(services, child, cascade=True)
            result.children.append(child)
            result.failed.extend(child_result.failed)
        hooks = _post_delete_hooks(services, name, result)
        _delete_resources(services, name, result)
        if result.failed:
            return result
        run_post_delete_hooks(services, name, hooks, result, hook_timeout, hook_poll)
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


def _post_delete_hooks(services: Services, name: str, result: Teardown) -> list[Hook]:
    """The app's PostDelete hooks, rendered before anything is deleted. A render that fails
    does not keep the app (its repository may be gone): the result says the hooks did not run."""
    try:
        app = load_application(services.store, name)
        project, problem = project_for(services.store, app)
        cluster = services.clusters.for_destination(app.destination)
        state = desired(
            app, project, services.git, cluster_scoped=cluster.cluster_scoped_kinds(),
            cache=(services.store.cached_render, services.store.cache_render), project_problem=problem,
        )
    except (UnknownApplication, SpecError, AccessDenied, GitError, RenderError, KubeError) as exc:
        result.skipped.append(f"{name}: PostDelete hooks not run: cannot render the app: {exc}")
        return []
    return [hook for hook in state.hooks if POST_DELETE in hook.phases]
