"""`GET|POST .../resource/actions` and `reconciler app actions list|run`: Argo CD's resource
actions on one of the app's objects (or one under them).

Running an action reads the live object, runs the action's Lua script (engine/actions) and
applies what it returns, as Argo CD's RunResourceAction does: a changed object is sent as a
JSON merge patch from the live object by this system's field manager (a change to `status`
goes to the status subresource first, for kinds that have one); a new object (CronJob
`create-job`) is created, only where the app's AppProject permits that kind and namespace.
"""

from __future__ import annotations

from typing import Any

from reconciler.control.catalog import project_for
from reconciler.control.views.scope import AppScope, scope_of
from reconciler.engine.actions import ActionError, discover, find_actions, merge_patch, run
from reconciler.engine.cluster import KubeError
from reconciler.engine.project_rules import check_resource
from reconciler.model.resources import ResourceKey
from reconciler.services import Services

MERGE_PATCH = "application/merge-patch+json"


def _live(scope: AppScope, group: str, kind: str, namespace: str, name: str) -> dict[str, Any]:
    target = scope.find(kind=kind, namespace=namespace, name=name, group=group)
    obj = scope.cluster.get(target.api_version, target.kind, target.namespace or None, target.name)
    if obj is None:
        raise ActionError(f"{kind} {namespace + '/' if namespace else ''}{name} is gone from the cluster")
    return obj


def list_actions(services: Services, name: str, group: str, kind: str, namespace: str,
                 resource_name: str) -> dict[str, Any]:
    scope = scope_of(services, name)
    obj = _live(scope, group, kind, namespace, resource_name)
    scripts = find_actions(services.customizations(), group, kind)
    actions = discover(scripts, obj) if scripts is not None else []
    return {"actions": [a.as_dict() for a in actions]}


def run_action(services: Services, name: str, group: str, kind: str, namespace: str, resource_name: str,
               action: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `action` on the object; returns the object as the server answered the last write."""
    scope = scope_of(services, name)
    obj = _live(scope, group, kind, namespace, resource_name)
    scripts = find_actions(services.customizations(), group, kind)
    if scripts is None:
        raise ActionError(f"{kind} has no resource actions")
    offered = {a.name: a for a in discover(scripts, obj)}
    if action in offered and offered[action].disabled:
        raise ActionError(f"action {action!r} is disabled for {kind} {resource_name} in its current state")
    result: dict[str, Any] = {}
    for impacted in run(scripts, action, obj, dict(params or {})):
        if impacted.operation == "create":
            result = _create(services, scope, impacted.resource)
        else:
            result = _patch(scope, obj, impacted.resource)
    return result


def _patch(scope: AppScope, live: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    patch = merge_patch(live, new)
    for server_owned in ("resourceVersion", "managedFields", "generation", "uid", "creationTimestamp"):
        (patch.get("metadata") or {}).pop(server_owned, None)
    if not patch.get("metadata"):
        patch.pop("metadata", None)
    if not patch:
        return live  # nothing to change (Argo CD sends nothing either)
    status = patch.pop("status", None)
    answer = live
    if status is not None:
        try:
            answer = scope.cluster.patch_subresource(live, "status", {"status": status}, MERGE_PATCH)
        except KubeError as exc:
            if exc.status != 404:  # a kind without a status subresource takes status in the main patch
                raise
            patch["status"] = status
    if patch:
        answer = scope.cluster.patch(live, patch, MERGE_PATCH)
    return answer


def _create(services: Services, scope: AppScope, obj: dict[str, Any]) -> dict[str, Any]:
    project, problem = project_for(services.store, scope.app)
    if project is None:
        raise ActionError(problem)
    key = ResourceKey.of(obj)
    refused = check_resource(project, key, scope.cluster.is_namespaced(str(obj.get("apiVersion", "")), key.kind),
                             scope.app.destination)
    if refused:
        raise ActionError(f"the action creates {refused}")
    return scope.cluster.create(obj)
