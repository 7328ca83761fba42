"""HTTP routes of the dashboard: the HTML pages, their static files, and the small JSON routes
the pages read besides the REST API itself.

    GET /                          applications list (HTML shell)
    GET /ui/apps/{name}            one application (HTML shell)
    GET /applicationsets           ApplicationSets (HTML shell)
    GET /ui/static/{file}          CSS and JavaScript of the pages
    GET /previews/{id}             one pull-request preview (HTML shell; data from /api/v1/previews/{id})
    GET /ui/api/whoami             who the caller is
    GET /ui/api/apps               one page of the list: filtered, sorted and paged on the server from
                                   the API's row index (control/app_rows.py RowIndex), only apps the
                                   caller may `get`, with links and sync-policy flags on that page's rows
    GET /ui/api/apps/{name}        the application page's data and what the caller may do to it
    GET /ui/api/apps/{name}/permitted-actions?group=&kind=
                                   the resource actions of a kind the caller may run on this app
    GET /ui/api/appsets            ApplicationSets with the apps each owns

The app page draws its graph from the REST API's `resource-tree`, opens objects with `resource`,
`events` and `logs`, runs `resource/actions`, and both pages follow the REST API's event streams
(`/api/v1/stream/applications[/{name}]`) instead of polling. The HTML and static files hold no
data, so they are served without a token (a browser cannot attach a bearer token to a page
navigation); every /ui/api/ route takes the REST API's own authentication and RBAC checks
(reconciler/api/access).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from reconciler.api.access.permits import app_object, permit_app, permit_each, visible_apps
from reconciler.api.auth import context
from reconciler.api.dashboard import views
from reconciler.api.dashboard.listing import ListQuery, list_page
from reconciler.control import user_actions as actions
from reconciler.control.app_rows import PageError, rows_of
from reconciler.control.catalog import UnknownApplication
from reconciler.core.urls import redact_urls_in
from reconciler.engine.actions import ActionError, find_actions
from reconciler.services import Services

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
WRITE_ROLES = frozenset({"admin", "anonymous"})  # anonymous: RECONCILER_API_AUTH=none, everything allowed
NO_STORE = {"Cache-Control": "no-store"}

# The pages load only their own scripts and styles: with no inline script allowed, text
# that reaches the page from Git or the cluster can never run as code.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def role_of(caller: Any) -> str:
    """The role in whatever the auth dependency returned: an object or dict with `role`, or a str."""
    role = getattr(caller, "role", None)
    if role is None and isinstance(caller, dict):
        role = caller.get("role")
    if role is None and isinstance(caller, str):
        role = caller
    role = getattr(role, "value", role)  # an Enum
    return str(role or "anonymous")


def _page(template: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(template).render(**context), headers=SECURITY_HEADERS)


def _static_files() -> dict[str, Path]:
    # A fixed set known at start: a request can only ever name one of these files.
    return {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}


def app_page_data(services: Services, name: str) -> dict[str, Any]:
    """Summary, conditions, operation, history and child apps of one app (its graph comes from
    the REST API's resource-tree)."""
    store = services.store
    detail = actions.get_app(store, name)  # raises UnknownApplication
    status = store.status(name) or {}
    child_rows = rows_of(store, detail.get("children") or [])
    return views.app_detail(detail, status, child_rows)


APP_ACTIONS = ("sync", "update", "delete")


def _can_write(request: Request, caller: Any) -> bool:
    """Whether the page should offer write buttons at all: without a policy, admin tokens (and
    no authentication) only; with one, anyone, as each app's `permissions` decide its buttons."""
    role = role_of(caller)
    return role in WRITE_ROLES or role in ("user", "project") or context(request).access.configured


def _permissions(request: Request, caller: Any, name: str) -> dict[str, bool]:
    ctx = context(request)
    obj, _ = app_object(request, name)
    store = ctx.services().store
    return {action: ctx.access.allows(store, caller, "applications", action, obj) for action in APP_ACTIONS}


def permitted_actions(request: Request, caller: Any, name: str, group: str, kind: str) -> list[str]:
    """The actions of `group`/`kind` (built in and customised) that the caller may run on app
    `name`: Argo CD's `action/<group>/<Kind>/<action>`, decided by the same RBAC as the run."""
    ctx = context(request)
    try:
        scripts = find_actions(ctx.services().customizations(), group, kind)
    except ActionError:
        return []
    if scripts is None:
        return []
    obj, _ = app_object(request, name)
    store = ctx.services().store
    return [action for action in sorted(scripts.actions)
            if ctx.access.allows(store, caller, "applications", f"action/{group}/{kind}/{action}", obj)]


def make_router(services_provider: Callable[[], Services], auth_dependency: Callable[..., Any],
                sso_enabled: bool = False) -> APIRouter:
    """The dashboard's routes. `services_provider` gives the process's clients; `auth_dependency`
    is the REST API's FastAPI dependency (its result carries the caller); with `sso_enabled`
    the sign-in form offers "Log in via SSO"."""
    router = APIRouter(include_in_schema=False)
    _pages(router, sso_enabled)
    _data_routes(router, services_provider, auth_dependency)
    return router


def _pages(router: APIRouter, sso_enabled: bool) -> None:
    static_files = _static_files()

    @router.get("/", response_class=HTMLResponse)
    def list_page_html() -> HTMLResponse:
        return _page("list.html", title="Applications", sso=sso_enabled)

    @router.get("/applicationsets", response_class=HTMLResponse)
    def appsets_page() -> HTMLResponse:
        return _page("appsets.html", title="ApplicationSets", sso=sso_enabled)

    @router.get("/ui/apps/{name}", response_class=HTMLResponse)
    def app_page(name: str) -> HTMLResponse:
        return _page("app.html", title=f"Application {name}", app_name=name, sso=sso_enabled)

    @router.get("/previews/{preview_id}", response_class=HTMLResponse)
    def preview_page(preview_id: str) -> HTMLResponse:
        # The link of a pull request's preview comment; the data comes from /api/v1/previews/{id}.
        return _page("preview.html", title="Preview", preview_id=preview_id, sso=sso_enabled)

    @router.get("/applications/{name}")
    def argocd_app_link(name: str) -> RedirectResponse:
        # Argo CD's links (`{{.context.argocdUrl}}/applications/NAME` in every catalog template)
        # land on the app's page here; the query (`?operation=true`) is not needed.
        return RedirectResponse(f"/ui/apps/{quote(name, safe='')}", status_code=302)

    @router.get("/ui/static/{filename}")
    def static(filename: str) -> FileResponse:
        path = static_files.get(filename)
        if path is None:
            raise HTTPException(404, f"GET /ui/static/{filename}: no such dashboard file")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media_type, headers={"X-Content-Type-Options": "nosniff"})


def _data_routes(router: APIRouter, services_provider: Callable[[], Services],
                 auth_dependency: Callable[..., Any]) -> None:
    @router.get("/ui/api/appsets", dependencies=[Depends(permit_each())])
    def appsets(request: Request, caller: Any = Depends(auth_dependency)) -> JSONResponse:  # noqa: B008
        from reconciler.control.appsets.actions import get_appset, list_appsets

        ctx = context(request)
        store = services_provider().store
        visible = [
            row for row in list_appsets(store)
            if ctx.access.allows(store, caller, "applicationsets", "get", f"{row['project']}/{row['name']}")
        ]
        rows = [get_appset(store, row["name"]) for row in visible]
        for row in rows:
            row.pop("manifest", None)
        return JSONResponse(redact_urls_in(rows), headers=NO_STORE)

    @router.get("/ui/api/whoami", dependencies=[Depends(permit_each())])
    def whoami(request: Request, caller: Any = Depends(auth_dependency)) -> JSONResponse:  # noqa: B008 (FastAPI's idiom)
        body = {"role": role_of(caller), "canWrite": _can_write(request, caller), "name": getattr(caller, "name", ""),
                "groups": list(getattr(caller, "groups", ())), "via": getattr(caller, "via", "")}  # fmt: skip
        return JSONResponse(body, headers=NO_STORE)

    @router.get("/ui/api/apps", dependencies=[Depends(permit_each())])
    def apps(request: Request, caller: Any = Depends(auth_dependency),  # noqa: B008
             sync: str = Query(""), health: str = Query(""), project: str = Query(""), search: str = Query(""),
             sort: str = Query("name"), page: int = Query(1), limit: int = Query(50)) -> JSONResponse:
        query = ListQuery(sync=sync, health=health, project=project, search=search, sort=sort, page=page, limit=limit)
        rows = context(request).app_rows()
        try:
            body = list_page(services_provider().store, rows, query,
                             lambda wanted: visible_apps(request, caller, wanted))
        except PageError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(redact_urls_in(body), headers=NO_STORE)

    @router.get("/ui/api/apps/{name}", dependencies=[Depends(permit_app("get"))])
    def app(request: Request, name: str, caller: Any = Depends(auth_dependency)) -> JSONResponse:  # noqa: B008
        try:
            data = app_page_data(services_provider(), name)
        except UnknownApplication as exc:
            return JSONResponse({"error": str(exc), "problems": []}, status_code=404)
        visible_children = {row["name"] for row in visible_apps(request, caller, data["children"])}
        data["children"] = [c for c in data["children"] if c["name"] in visible_children]
        data["permissions"] = _permissions(request, caller, name)
        return JSONResponse(redact_urls_in(data), headers=NO_STORE)

    @router.get("/ui/api/apps/{name}/permitted-actions", dependencies=[Depends(permit_app("get"))])
    def app_permitted_actions(request: Request, name: str, kind: str = Query(...), group: str = Query(""),
                              caller: Any = Depends(auth_dependency)) -> JSONResponse:  # noqa: B008
        return JSONResponse({"actions": permitted_actions(request, caller, name, group, kind)}, headers=NO_STORE)
