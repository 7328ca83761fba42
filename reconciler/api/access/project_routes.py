"""AppProjects and their role tokens over HTTP, at Argo CD's addresses.

    GET    /api/v1/projects                                  the projects the caller may get
    GET    /api/v1/projects/{project}                        one, with `status.jwtTokensByRole`
    POST   /api/v1/projects/{project}/roles/{role}/token     a new token (`projects, update`), shown once
    GET    /api/v1/projects/{project}/roles/{role}/token     the role's tokens: id, iat, exp (`projects, get`)
    DELETE /api/v1/projects/{project}/roles/{role}/token/{iat}   revoke (`projects, update`); the last part
                                                             is the token's issued-at or its id; `?id=` too

Projects are registered with the Applications (POST /api/v1/applications, `reconciler app create -f`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from reconciler.api.access.identity import Caller
from reconciler.api.access.permits import permit, permit_each
from reconciler.api.auth import context, rest_caller
from reconciler.api.errors import ApiError
from reconciler.control.access.project_tokens import (
    ProjectTokenError,
    create_token,
    delete_token,
    parse_expires_in,
    signing_secret,
)
from reconciler.control.access.registered import registered_project
from reconciler.model import AppProject, default_project, project_to_manifest


def _project_param(request: Request) -> str:
    return str(request.path_params["project"])


def _registered(request: Request, name: str) -> AppProject:
    project = registered_project(context(request).services().store, name)
    if project is None:
        if name == "default":
            return default_project()
        raise ApiError(404, f"project {name!r} is not registered: register its AppProject (POST /api/v1/applications)")
    return project


def project_view(request: Request, project: AppProject) -> dict[str, Any]:
    """The AppProject manifest with its tokens in `status.jwtTokensByRole`, as Argo CD shows it."""
    tokens = context(request).services().store.project_tokens(project.name)
    manifest = project_to_manifest(project)
    manifest["status"] = {"jwtTokensByRole": {role: {"items": items} for role, items in sorted(tokens.items())}}
    return manifest


def project_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/projects", tags=["projects"], dependencies=[Depends(rest_caller)])
    own = permit("projects", "get", _project_param)
    update = permit("projects", "update", _project_param)

    @router.get("", summary="The AppProjects the caller may get", dependencies=[Depends(permit_each())])
    def list_projects(request: Request, caller: Caller = Depends(rest_caller)) -> JSONResponse:  # noqa: B008
        ctx = context(request)
        store = ctx.services().store
        names = sorted({*store.project_names(), "default"})
        visible = [n for n in names if ctx.access.allows(store, caller, "projects", "get", n)]
        return JSONResponse([project_view(request, _registered(request, n)) for n in visible])

    @router.get("/{project}", summary="One AppProject, with its role tokens", dependencies=[Depends(own)])
    def get_project(request: Request, project: str) -> JSONResponse:
        return JSONResponse(project_view(request, _registered(request, project)))

    @router.post("/{project}/roles/{role}/token", summary="Create a token of a project role (shown once)",
                 status_code=201, dependencies=[Depends(update)])  # fmt: skip
    def create(request: Request, project: str, role: str, body: dict[str, Any] = Body(default={})) -> JSONResponse:  # noqa: B008
        ctx = context(request)
        request.state.audit_action = "create-token"
        try:
            expires_in = parse_expires_in(body.get("expiresIn"))
        except ProjectTokenError as exc:
            raise ApiError(400, str(exc)) from None
        try:
            made = create_token(ctx.services().store, signing_secret(ctx.settings), _registered(request, project), role,
                                expires_in)  # fmt: skip
        except ProjectTokenError as exc:
            raise ApiError(404, str(exc)) from None
        return JSONResponse(made, status_code=201, headers={"Cache-Control": "no-store"})

    @router.get("/{project}/roles/{role}/token", summary="The tokens of a project role", dependencies=[Depends(own)])
    def list_tokens(request: Request, project: str, role: str) -> JSONResponse:
        _registered(request, project)
        return JSONResponse(context(request).services().store.project_tokens(project).get(role, []))

    @router.delete("/{project}/roles/{role}/token/{iat}", summary="Revoke a token by its issued-at or id",
                   dependencies=[Depends(update)])  # fmt: skip
    def delete(request: Request, project: str, role: str, iat: str, id: str = "") -> JSONResponse:
        request.state.audit_action = "delete-token"
        try:
            removed = delete_token(context(request).services().store, project, role, id or iat)
        except ProjectTokenError as exc:
            raise ApiError(404, str(exc)) from None
        return JSONResponse({"revoked": removed})

    return router
