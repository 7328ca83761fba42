"""What each route requires, declared on the route: `dependencies=[Depends(permit_app("sync"))]`.

    permit_app(action)              an Application named by the `name` path parameter
    permit(resource, action, obj)   a fixed object, or one computed from the request
    permit_each()                   the handler checks each object itself (create, lists)

Every REST and dashboard route declares one (a test holds them to it). A route that does not
(one added later) still gets a conservative check from `fallback`: reads need `get` on the
resource its path names, writes the matching action; on a resource RBAC does not know, reads
are open to any caller and writes need the right to create applications everywhere.

For an Application that is not registered, the decision is taken on `*/<name>` (the name in
any project): a caller who may act on it wherever it is gets the 404 that says it is not
registered, anyone else the 403, so names of other teams' apps do not leak (Argo CD answers
403 for an app a caller cannot see, whether it exists or not).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request

from reconciler.api.access.identity import Caller
from reconciler.api.auth import context, rest_caller
from reconciler.control.access.builtin import APP_SCOPED, builtin_rules

KNOWN_RESOURCES = frozenset(values[2] for values in builtin_rules() if values[0] == "p")
_WRITE_ACTIONS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}


def app_object(request: Request, name: str) -> tuple[str, bool]:
    """(`<project>/<name>`, registered) of an Application, or (`*/<name>`, False) when unknown."""
    manifest = context(request).services().store.app_manifest(name)
    if manifest is None:
        return f"*/{name}", False
    project = (manifest.get("spec") or {}).get("project") or "default"
    return f"{project}/{name}", True


def _mark(dependency: Callable[..., Any]) -> Callable[..., Any]:
    dependency.access_permit = True  # type: ignore[attr-defined]
    return dependency


def require(request: Request, caller: Caller, resource: str, action: str, obj: str) -> None:
    ctx = context(request)
    ctx.access.require(ctx.services().store, caller, resource, action, obj, request)


def permit_app(action: str, resource: str = "applications") -> Callable[..., Any]:
    def dependency(request: Request, caller: Caller = Depends(rest_caller)) -> Caller:  # noqa: B008
        obj, _ = app_object(request, request.path_params["name"])
        require(request, caller, resource, action, obj)
        return caller

    return _mark(dependency)


def permit(resource: str, action: str, obj: str | Callable[[Request], str] = "*") -> Callable[..., Any]:
    def dependency(request: Request, caller: Caller = Depends(rest_caller)) -> Caller:  # noqa: B008
        require(request, caller, resource, action, obj(request) if callable(obj) else obj)
        return caller

    return _mark(dependency)


def permit_each() -> Callable[..., Any]:
    def dependency(caller: Caller = Depends(rest_caller)) -> Caller:  # noqa: B008
        return caller

    return _mark(dependency)


def visible_apps(request: Request, caller: Caller, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows (each with `project` and `name`) of the Applications the caller may `get`."""
    ctx = context(request)
    objects = [f"{r['project']}/{r['name']}" for r in rows]
    allowed = ctx.access.allows_each(ctx.services().store, caller, "applications", "get", objects)
    return [row for row, yes in zip(rows, allowed, strict=True) if yes]


def declares_permit(route: Any) -> bool:
    return any(getattr(dep.dependency, "access_permit", False) for dep in getattr(route, "dependencies", []))


def fallback(request: Request, caller: Caller) -> None:
    """The check of a route that declares nothing (see the module docstring)."""
    parts = request.url.path.strip("/").split("/")
    resource = parts[2] if len(parts) > 2 and parts[:2] == ["api", "v1"] else ""
    read = request.method in ("GET", "HEAD", "OPTIONS")
    action = "get" if read else _WRITE_ACTIONS.get(request.method, "update")
    if resource not in KNOWN_RESOURCES:
        if not read:
            require(request, caller, "applications", "create", "*/*")
        return
    if resource == "applications" and "name" in request.path_params:
        obj, _ = app_object(request, request.path_params["name"])
        action = action if read else "update"
    else:
        obj = "*/*" if resource in APP_SCOPED else "*"
    require(request, caller, resource, action, obj)
