"""HTTP routes of the dashboard: two HTML pages, their static files, and the small JSON
endpoints the pages poll.

    GET /                          applications list (HTML shell; data from /ui/api/apps)
    GET /ui/apps/{name}            one application (HTML shell; data from /ui/api/apps/{name})
    GET /ui/static/{file}          CSS and JavaScript of the pages
    GET /ui/api/whoami             who the caller is: the page shows write buttons to those who may write
    GET /ui/api/apps               list rows of the apps the caller may `get` (summary, links, sync-policy flags)
    GET /ui/api/apps/{name}        the application page's data, with live ReplicaSets/Pods and what the
                                   caller may do to it (`permissions`: sync, update, delete)
    GET /previews/{id}             one pull-request preview (HTML shell; data from /api/v1/previews/{id})
    GET /applicationsets           ApplicationSets with the apps each owns (data from /ui/api/appsets)

The HTML and static files hold no data, so they are served without a token (a browser
cannot attach a bearer token to a page navigation); every /ui/api/ route takes the REST
API's own authentication and RBAC checks (reconciler/api/access), so the dashboard reads
exactly what the caller may read: a pasted token (bearer), or after a single sign-on the
`reconciler_session` cookie. The buttons call the REST API (/api/v1/...) the same way.

Live updates are short polls of the JSON endpoints rather than server-sent events:
EventSource cannot send an Authorization header, and a poll every two seconds of a few
Redis reads is cheap next to what a reconcile costs.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from reconciler.api.access.permits import app_object, permit_app, permit_each, visible_apps
from reconciler.api.auth import context
from reconciler.api.dashboard import views
from reconciler.control import user_actions as actions
from reconciler.control.catalog import UnknownApplication
from reconciler.control.live_tree import Node, OwnerKey, live_children_of
from reconciler.core.urls import redact_urls_in
from reconciler.services import Services

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
POLL_INTERVAL_MS = 2000
WRITE_ROLES = frozenset({"admin", "anonymous"})  # anonymous: RECONCILER_API_AUTH=none, everything allowed

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
    html = _templates.get_template(template).render(poll_interval_ms=POLL_INTERVAL_MS, **context)
    return HTMLResponse(html, headers=SECURITY_HEADERS)


def _static_files() -> dict[str, Path]:
    # A fixed set known at start: a request can only ever name one of these files.
    return {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}


def app_rows(services: Services) -> list[dict[str, Any]]:
    return rows_for(services, None)


def rows_for(services: Services, wanted: list[str] | None) -> list[dict[str, Any]]:
    """List rows of every app (`wanted` None) or of the registered ones among `wanted`."""
    store = services.store
    manifests = store.app_manifests()
    names = sorted(manifests) if wanted is None else [n for n in wanted if n in manifests]
    statuses = store.statuses(names)
    return [
        views.list_row(actions.summary(store, name, statuses[name], manifests[name]), statuses[name], manifests[name])
        for name in names
    ]


# (app name, its resource rows) -> the live children of its workloads, and why not shown
TreeProvider = Callable[[str, list[dict[str, Any]]], tuple[dict[OwnerKey, list[Node]], str]]


def app_page_data(services: Services, name: str, tree: TreeProvider | None = None) -> dict[str, Any]:
    store = services.store
    detail = actions.get_app(store, name)  # raises UnknownApplication
    status = store.status(name) or {}
    resources = detail.get("resources") or []
    if tree is not None:  # an API without cluster credentials asks a worker
        children, live_error = tree(name, resources)
    else:
        children, live_error = live_children_of(services, name, resources)
    child_rows = {row["name"]: row for row in rows_for(services, detail.get("children") or [])}
    return views.app_detail(detail, status, children, child_rows, live_error)


APP_ACTIONS = ("sync", "update", "delete")


def _can_write(request: Request, caller: Any) -> bool:
    """Whether the page should offer write buttons at all: without a policy, admin tokens (and
    no authentication) only; with one, anyone, as each app's `permissions` decide its buttons."""
    role = role_of(caller)
    return role in WRITE_ROLES or role in ("user", "project") or context(request).access.configured


def _may_get(request: Request, caller: Any, name: str) -> bool:
    ctx = context(request)
    return ctx.access.allows(ctx.services().store, caller, "applications", "get", app_object(request, name)[0])


def _permissions(request: Request, caller: Any, name: str) -> dict[str, bool]:
    ctx = context(request)
    obj, _ = app_object(request, name)
    store = ctx.services().store
    return {action: ctx.access.allows(store, caller, "applications", action, obj) for action in APP_ACTIONS}


def make_router(
    services_provider: Callable[[], Services],
    auth_dependency: Callable[..., Any],
    tree: TreeProvider | None = None,
    sso_enabled: bool = False,
) -> APIRouter:
    """The dashboard's routes. `services_provider` gives the process's clients; `tree`, when
    given, reads live trees (from workers) instead of the cluster; `auth_dependency`
    is the REST API's FastAPI dependency (its result carries the caller); with `sso_enabled`
    the sign-in form offers "Log in via SSO"."""
    router = APIRouter(include_in_schema=False)
    static_files = _static_files()

    @router.get("/", response_class=HTMLResponse)
    def list_page() -> HTMLResponse:
        return _page("list.html", title="Applications", sso=sso_enabled)

    @router.get("/applicationsets", response_class=HTMLResponse)
    def appsets_page() -> HTMLResponse:
        return _page("appsets.html", title="ApplicationSets")

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
        return JSONResponse(redact_urls_in(rows), headers={"Cache-Control": "no-store"})

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

    @router.get("/ui/api/whoami", dependencies=[Depends(permit_each())])
    def whoami(request: Request, caller: Any = Depends(auth_dependency)) -> JSONResponse:  # noqa: B008 (FastAPI's idiom)
        body = {"role": role_of(caller), "canWrite": _can_write(request, caller), "name": getattr(caller, "name", ""),
                "groups": list(getattr(caller, "groups", ())), "via": getattr(caller, "via", "")}  # fmt: skip
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @router.get("/ui/api/apps", dependencies=[Depends(permit_each())])
    def apps(request: Request, caller: Any = Depends(auth_dependency)) -> JSONResponse:  # noqa: B008
        rows = visible_apps(request, caller, app_rows(services_provider()))
        return JSONResponse(redact_urls_in(rows), headers={"Cache-Control": "no-store"})

    @router.get("/ui/api/apps/{name}", dependencies=[Depends(permit_app("get"))])
    def app(request: Request, name: str, caller: Any = Depends(auth_dependency)) -> JSONResponse:  # noqa: B008
        try:
            data = app_page_data(services_provider(), name, tree)
        except UnknownApplication as exc:
            return JSONResponse({"error": str(exc), "problems": []}, status_code=404)
        data["children"] = [c for c in data.get("children") or [] if _may_get(request, caller, c["name"])]
        data["permissions"] = _permissions(request, caller, name)
        return JSONResponse(redact_urls_in(data), headers={"Cache-Control": "no-store"})

    return router
