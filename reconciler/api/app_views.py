"""What an on-call engineer looks at and does on one app (issue 29), Argo CD's API paths:

    GET  /api/v1/applications/{name}/resource-tree        nodes, orphanedNodes, hooks
    GET  /api/v1/applications/{name}/resource              live and desired manifests, diff, why
    GET  /api/v1/applications/{name}/events                Kubernetes Events of an object and what it owns
    GET  /api/v1/applications/{name}/logs                  container logs (text; follow: event stream)
    GET  /api/v1/applications/{name}/resource/actions      the actions an object offers
    POST /api/v1/applications/{name}/resource/actions      run one (RBAC `action/<group>/<Kind>/<action>`)

Reads need `get` on the application (logs: `get` on Argo CD's `logs` resource); followed logs are
read by a worker too when the API has no cluster access (api/log_stream.py); running an
action needs Argo CD's `action/<group>/<Kind>/<action>` on the application. The work is done by
control/views, here when the API has cluster access (RECONCILER_API_CLUSTER_ACCESS=direct), else
by a worker; `resource` needs a render, so a worker answers it whatever the setting.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from reconciler.api import log_stream
from reconciler.api.access.identity import Caller
from reconciler.api.access.permits import app_object, permit_app, permit_each, require
from reconciler.api.auth import context, rest_caller
from reconciler.api.errors import ApiError
from reconciler.api.models import AUTH_ERRORS, ErrorBody
from reconciler.control.catalog import UnknownApplication
from reconciler.control.views.requests import answer
from reconciler.core.urls import redact_urls_in

_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    404: {"model": ErrorBody, "description": "no such application, or the object is not part of it"},
}
_BAD = {400: {"model": ErrorBody, "description": "the request or the API server refused it (named)"}}


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str = ""
    version: str = ""
    kind: str
    namespace: str = ""
    resourceName: str
    action: str = Field(min_length=1)
    resourceActionParameters: list[dict[str, str]] = Field(
        default_factory=list, description='[{"name": "replicas", "value": "3"}] for actions with parameters')


def _view(request: Request, name: str, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    ctx = context(request)
    params = {"name": name, **{k: v for k, v in params.items() if v is not None}}
    if kind == "resource" or ctx.settings.api_cluster_access == "workers":
        reply = ctx.ask_workers(kind, params)
        if not reply.get("found"):
            raise UnknownApplication(name)
        body = dict(reply["view"])
    else:
        body = answer(ctx.services(), kind, params)
    if set(body) == {"error", "code"}:
        raise ApiError(int(body["code"]), str(body["error"]))
    return body


def views_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/applications", tags=["application views"], dependencies=[Depends(rest_caller)])

    @router.get("/{name}/resource-tree", summary="The app's objects and what they own, with sync and health",
                responses=_ERRORS, dependencies=[Depends(permit_app("get"))])
    def resource_tree(request: Request, name: str) -> JSONResponse:
        return JSONResponse(_view(request, name, "resource-tree", {}))

    @router.get("/{name}/resource", summary="One object: live and desired manifests, diff, why it differs",
                responses={**_ERRORS, **_BAD, 409: {"model": ErrorBody, "description": "cannot be compared now"}},
                dependencies=[Depends(permit_app("get"))])
    def resource(request: Request, name: str, kind: str = Query(...), resourceName: str = Query(...),
                 group: str = Query(""), version: str = Query(""), namespace: str = Query("")) -> JSONResponse:
        params = {"group": group, "version": version, "kind": kind, "namespace": namespace,
                  "resourceName": resourceName}
        return JSONResponse(redact_urls_in(_view(request, name, "resource", params)))

    @router.get("/{name}/events", summary="Kubernetes Events of the app's objects, or of one and what it owns",
                responses={**_ERRORS, **_BAD}, dependencies=[Depends(permit_app("get"))])
    def events(request: Request, name: str, resourceNamespace: str = Query(""),
               resourceName: str = Query(""), resourceUID: str = Query("")) -> JSONResponse:
        params = {"resourceNamespace": resourceNamespace, "resourceName": resourceName, "resourceUID": resourceUID}
        return JSONResponse(_view(request, name, "events", params))

    @router.get(
        "/{name}/logs",
        summary="Container logs of a Pod, or of the Pods under an object (text; follow=true: an event stream)",
        responses={**_ERRORS, **_BAD, 200: {"content": {"text/plain": {}, "text/event-stream": {}}}},
        dependencies=[Depends(permit_app("get", resource="logs"))],
    )
    async def logs(
        request: Request, name: str, namespace: str = Query(""), podName: str = Query(""),
        kind: str = Query(""), resourceName: str = Query(""), group: str | None = Query(None),
        container: str = Query(""), follow: bool = Query(False), previous: bool = Query(False),
        tailLines: int | None = Query(None, ge=0), sinceSeconds: int | None = Query(None, ge=1),
    ) -> Any:
        params = {"namespace": namespace, "podName": podName, "kind": kind, "resourceName": resourceName,
                  "group": group, "container": container, "previous": previous, "tailLines": tailLines,
                  "sinceSeconds": sinceSeconds}
        if not follow:
            body = await run_in_threadpool(_view, request, name, "logs", params)
            return PlainTextResponse(body["text"])
        return EventSourceResponse(log_stream.follow(request, name, params), ping=15)

    @router.get("/{name}/resource/actions", summary="The resource actions an object offers",
                responses={**_ERRORS, **_BAD}, dependencies=[Depends(permit_app("get"))])
    def list_actions(request: Request, name: str, kind: str = Query(...), resourceName: str = Query(...),
                     group: str = Query(""), version: str = Query(""), namespace: str = Query("")) -> JSONResponse:
        params = {"group": group, "version": version, "kind": kind, "namespace": namespace,
                  "resourceName": resourceName}
        return JSONResponse(_view(request, name, "actions", params))

    @router.post("/{name}/resource/actions", summary="Run a resource action; answers the object it changed",
                 responses={**_ERRORS, **_BAD}, dependencies=[Depends(permit_each())])
    def run_action(request: Request, name: str, body: ActionBody,
                   caller: Caller = Depends(rest_caller)) -> JSONResponse:  # noqa: B008
        obj, _ = app_object(request, name)
        # Argo CD's RunResourceAction: `action/<group>/<Kind>/<action>` on the application.
        require(request, caller, "applications", f"action/{body.group}/{body.kind}/{body.action}", obj)
        params = {**body.model_dump(exclude={"resourceActionParameters"}),
                  "params": {p.get("name", ""): p.get("value", "") for p in body.resourceActionParameters}}
        return JSONResponse(_view(request, name, "run-action", params))

    return router
