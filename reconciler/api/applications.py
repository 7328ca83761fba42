"""The REST API over applications: `/api/v1/applications[/{name}[/diff|/sync|/rollback]]`.

Each route is a thin shell over reconciler.control.user_actions (and refresh, preview, teardown); the
bodies it returns are the dicts `reconciler app ... -o json` prints, so the CLI prints
the same whether it talks to Redis or to this API (RECONCILER_SERVER).

This process never renders or evaluates what a repository holds (a chart's templates, Jsonnet):
what needs a render, `diff?refresh=true`, a dry-run sync and a cascade delete (its delete
hooks), is asked of a worker with a deadline (ApiContext.ask_workers), whatever
RECONCILER_API_CLUSTER_ACCESS says. The refresh of a caller who may not sync the app (a
read-only token, an SSO user or project token with only `get` on it) runs at most once per app
every READONLY_REFRESH_SECONDS; within that window it gets the last comparison.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from reconciler.api.access.identity import Caller
from reconciler.api.access.permits import app_object, permit_app, permit_each, require, visible_apps
from reconciler.api.auth import context, rest_caller
from reconciler.api.context import WORKER_ANSWER_TIMEOUT_SECONDS
from reconciler.api.errors import ApiError
from reconciler.api.models import (
    AUTH_ERRORS,
    MANIFESTS_BODY,
    ActionDone,
    AppDetail,
    AppStatus,
    AppSummary,
    CreateResult,
    Deleted,
    DeleteDeferred,
    ErrorBody,
    Queued,
    RollbackBody,
    SyncBody,
    SyncPlanBody,
)
from reconciler.control import app_rows
from reconciler.control import user_actions as actions
from reconciler.control.app_rows import MAX_PAGE_SIZE
from reconciler.control.catalog import UnknownApplication
from reconciler.control.sync.operation import Teardown
from reconciler.control.teardown import deferred_body, delete_and_wait, deleted_body, deregister
from reconciler.core.urls import redact_urls_in, same_repository
from reconciler.model import Application, AppProject, SpecError, parse_manifests
from reconciler.model.appset_types import ApplicationSet, ClusterSecret

MAX_MANIFEST_BYTES = 5 * 1024 * 1024
BODY_SOURCE = "request body"
READONLY_REFRESH_SECONDS = 10.0

_ERRORS = AUTH_ERRORS
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "no such application"}}


def _json(body: Any, status: int = 200) -> JSONResponse:
    # Returned as is (not through the response model): the body is exactly the actions' dict,
    # with URL user info removed (an app registered before credentials in repoURLs were refused).
    return JSONResponse(redact_urls_in(body), status_code=status)


def _may_sync(request: Request, caller: Caller, name: str) -> bool:
    """Whether the caller may sync app `name`: who may queue its syncs may ask for its refreshes."""
    ctx = context(request)
    obj, _ = app_object(request, name)
    return bool(ctx.access.allows(ctx.services().store, caller, "applications", "sync", obj))


def _manifest_text(raw: bytes) -> str:
    """YAML (one or many documents) or JSON (one manifest, or a list of them) as YAML text."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the request body is not UTF-8 text: send the manifests as YAML or JSON") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            documents = json.loads(stripped)
        except ValueError as exc:
            raise ApiError(400, f"the request body is not valid JSON: {exc}") from None
        return yaml.safe_dump_all(documents, sort_keys=False)
    return text  # YAML, and JSON objects, which are YAML


async def manifest_body(request: Request) -> bytes:
    """The request body, refused with 413 above MAX_MANIFEST_BYTES (declared or read)."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > MAX_MANIFEST_BYTES:
        raise ApiError(413, f"the manifests are larger than {MAX_MANIFEST_BYTES} bytes: send fewer at a time")
    raw = await request.body()
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ApiError(413, f"the manifests are larger than {MAX_MANIFEST_BYTES} bytes: send fewer at a time")
    return raw


def _authorize_documents(request: Request, caller: Caller, documents: list[Any]) -> None:
    """Argo CD's checks of a create or upsert: `create` on a new object, `update` on an existing
    one (on its old and its new project when an Application moves). All are checked before any
    is registered, so a refused document registers nothing. ApplicationSets are objects of the
    project their template names, clusters of their server URL, as in Argo CD's policies."""
    store = context(request).services().store
    for doc in documents:
        if isinstance(doc, AppProject):
            action = "update" if store.project_manifest(doc.name) is not None else "create"
            require(request, caller, "projects", action, doc.name)
            continue
        if isinstance(doc, ApplicationSet):
            project = str(((doc.template.get("spec") or {}).get("project")) or "default")
            action = "update" if store.appset_manifest(doc.name) is not None else "create"
            require(request, caller, "applicationsets", action, f"{project}/{doc.name}")
            continue
        if isinstance(doc, ClusterSecret):
            action = "update" if doc.name in store.cluster_manifests() else "create"
            require(request, caller, "clusters", action, doc.server)
            continue
        obj = f"{doc.project or 'default'}/{doc.name}"
        old = store.app_manifest(doc.name)
        if old is None:
            require(request, caller, "applications", "create", obj)
            continue
        old_obj = f"{(old.get('spec') or {}).get('project') or 'default'}/{doc.name}"
        for target in dict.fromkeys((old_obj, obj)):
            require(request, caller, "applications", "update", target)


def _create(request: Request, caller: Caller, raw: bytes) -> tuple[int, dict[str, Any]]:
    ctx = context(request)
    try:
        documents = parse_manifests(_manifest_text(raw), source_file=BODY_SOURCE)
    except SpecError as exc:
        raise ApiError(
            400,
            f"the manifests have {len(exc.problems)} problem(s); nothing was registered: fix each one listed",
            [str(p) for p in exc.problems],
        ) from None
    if not documents:
        raise ApiError(400, "the request body holds no Application, AppProject, ApplicationSet or cluster Secret")
    _authorize_documents(request, caller, documents)
    store = ctx.services().store
    new = [d.name for d in documents if isinstance(d, Application) and store.app_manifest(d.name) is None]
    names = actions.create(store, documents, owner="api")
    projects = [d.name for d in documents if isinstance(d, AppProject)]
    sets = [d.name for d in documents if isinstance(d, ApplicationSet)]
    clusters = [d.name for d in documents if isinstance(d, ClusterSecret)]
    body: dict[str, Any] = {"applications": names, "projects": projects, "created": new}
    if sets:  # only when the body held them: the answer for Applications stays as it was
        body["applicationSets"] = sets
    if clusters:
        body["clusters"] = clusters
    return (201 if new or sets or clusters else 200), body


def _matches_filters(
    row: dict[str, Any], sync: str | None, health: str | None, project: str | None, repo: str | None, search: str | None
) -> bool:
    if sync and row["sync"].lower() != sync.lower():
        return False
    if health and row["health"].lower() != health.lower():
        return False
    if project and row["project"] != project:
        return False
    if repo and not (row["repoURL"] == repo or same_repository(row["repoURL"], repo)):
        return False
    return not search or search.lower() in row["name"].lower()


def apps_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/applications", tags=["applications"], dependencies=[Depends(rest_caller)])

    @router.post(
        "",
        summary="Register or update Applications and AppProjects from YAML or JSON manifests",
        response_model=CreateResult,
        status_code=201,
        dependencies=[Depends(permit_each())],
        responses={
            200: {"model": CreateResult, "description": "every application existed already (updated)"},
            400: {"model": ErrorBody, "description": "invalid manifests; every problem listed"},
            413: {"model": ErrorBody, "description": "body too large"},
            **_ERRORS,
        },
        openapi_extra=MANIFESTS_BODY,
    )
    async def create(request: Request, caller: Caller = Depends(rest_caller)) -> JSONResponse:  # noqa: B008
        raw = await manifest_body(request)
        status, body = await run_in_threadpool(_create, request, caller, raw)
        return _json(body, status)

    @router.get(
        "",
        summary="List the applications the caller may get, with sync, health and revision; paged, sorted and "
        "filtered on the server when asked",
        description="Without limit, continue, page or sort the answer is the whole list, sorted by name, as it "
        "always was. With `limit` (and `continue` from the previous answer, or a 1-based `page`) the body is "
        "still a JSON list, the page, and the headers say the rest: `X-Total-Count` (rows matching the filters "
        "that the caller may see) and `X-Continue` (the token of the next page; absent on the last).",
        response_model=list[AppSummary],
        responses={**_ERRORS, 400: {"model": ErrorBody, "description": "a paging parameter is invalid (named)"}},
        dependencies=[Depends(permit_each())],
    )
    def list_apps(
        request: Request,
        caller: Caller = Depends(rest_caller),  # noqa: B008
        sync: str | None = Query(None, description="Synced | OutOfSync | Unknown"),
        health: str | None = Query(None, description="Healthy | Progressing | Degraded | ..."),
        project: str | None = Query(None),
        repo: str | None = Query(None, description="repository URL, in any of its forms"),
        search: str | None = Query(None, description="part of the application name"),
        limit: int | None = Query(None, description=f"rows per page, 1 to {MAX_PAGE_SIZE}"),
        continue_token: str | None = Query(None, alias="continue", description="X-Continue of the previous page"),
        page: int | None = Query(None, description="1-based page number (instead of continue)"),
        sort: str | None = Query(None, description="name | sync | health | lastSync; a leading - reverses"),
    ) -> JSONResponse:
        rows = context(request).app_rows()
        wanted = [r for r in rows if _matches_filters(r, sync, health, project, repo, search)]
        visible = visible_apps(request, caller, wanted)
        if limit is None and continue_token is None and page is None and sort is None:
            return _json(visible)
        paging = app_rows.PageRequest(limit=limit or 0, continue_token=continue_token or "", page=page or 0,
                                      sort=sort or "name")
        try:
            found = app_rows.paged(visible, paging)
        except app_rows.PageError as exc:
            raise ApiError(400, str(exc)) from None
        response = _json(found.items)
        response.headers["X-Total-Count"] = str(found.total)
        if found.continue_token:
            response.headers["X-Continue"] = found.continue_token
        return response

    @router.get("/{name}", summary="One application: resources, conditions, operation, history",
                response_model=AppDetail, responses={**_ERRORS, **_NOT_FOUND},
                dependencies=[Depends(permit_app("get"))])
    def get_app(request: Request, name: str) -> JSONResponse:
        return _json(actions.get_app(context(request).services().store, name))

    @router.delete(
        "/{name}",
        summary="Deregister an application; with cascade, delete what it deployed first",
        response_model=Deleted,
        responses={
            **_ERRORS, **_NOT_FOUND,
            202: {"model": DeleteDeferred, "description": "cascade delete waits for the app's running sync"},
            409: {"model": ErrorBody, "description": "cascade delete failed"},
        },
        dependencies=[Depends(permit_app("delete"))],
    )
    def delete_app(request: Request, name: str, cascade: bool = Query(False)) -> JSONResponse:
        ctx = context(request)
        store = ctx.services().store
        if not cascade:
            if not deregister(store, name, ctx.settings):
                raise UnknownApplication(name)
            return _json(deleted_body(name, Teardown()))
        reply = delete_and_wait(store, name, ctx.enqueue_delete, WORKER_ANSWER_TIMEOUT_SECONDS)
        if reply is None:
            raise ApiError(
                504,
                f"no worker answered the delete of {name!r} within {WORKER_ANSWER_TIMEOUT_SECONDS:.0f}s: check that "
                "workers run (`reconciler worker`) and their queues are not backed up; the delete goes on when one "
                "takes it",
            )
        if not reply.found:
            raise UnknownApplication(name)
        if reply.deferred:
            return _json(deferred_body(name, reply.deferred), status=202)
        result = reply.teardown or Teardown()
        if result.failed:
            raise ApiError(
                409,
                f"application {name!r} kept: some resources could not be deleted or a PreDelete or PostDelete "
                "hook did not complete; fix the cause and delete again",
                list(result.failed),
            )
        return _json(deleted_body(name, result))

    @router.get(
        "/{name}/diff",
        summary="Differences between Git and the cluster, from the last poll (or a fresh one)",
        response_model=AppStatus,
        responses={**_ERRORS, **_NOT_FOUND, 409: {"model": ErrorBody, "description": "not polled yet"}},
        dependencies=[Depends(permit_app("get"))],
    )
    def diff(
        request: Request,
        name: str,
        refresh_now: bool = Query(False, alias="refresh"),
        caller: Caller = Depends(rest_caller),  # noqa: B008 (FastAPI's idiom)
    ) -> JSONResponse:
        ctx = context(request)
        store = ctx.services().store
        if store.app_manifest(name) is None:
            raise UnknownApplication(name)
        # A caller who may only read the app (a read-only token, an SSO user or a project token
        # without `sync` on it) may not keep workers rendering: one refresh per app per window.
        if refresh_now and (_may_sync(request, caller, name) or store.claim_refresh(name, READONLY_REFRESH_SECONDS)):
            reply = ctx.ask_workers("refresh", {"name": name})  # the worker hands on any sync it decides
            if not reply["found"]:
                raise UnknownApplication(name)
            return _json(reply["status"])
        status = store.status(name)
        if status is None:
            raise ApiError(
                409, f"application {name!r} has not been polled yet: retry in a moment, or add ?refresh=true"
            )
        return _json(status)

    @router.post(
        "/{name}/sync",
        summary="Sync an application (202), or with dryRun answer the plan (200) and change nothing",
        status_code=202,
        response_model=Queued,
        responses={
            200: {"model": SyncPlanBody, "description": "dry run: the plan"},
            400: {"model": ErrorBody, "description": "invalid request (e.g. a resource id)"},
            409: {"model": ErrorBody, "description": "a sync window of the project holds syncs now"},
            422: {"model": ErrorBody, "description": "dry run: the app cannot be planned (Git, render, cluster)"},
            **_ERRORS,
            **_NOT_FOUND,
        },
        dependencies=[Depends(permit_app("sync"))],
    )
    def sync(request: Request, name: str, body: SyncBody | None = None) -> JSONResponse:
        ctx = context(request)
        body = body or SyncBody()
        try:
            resources = body.resource_ids()
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        if body.dryRun:
            if ctx.services().store.app_manifest(name) is None:
                raise UnknownApplication(name)
            params = {"name": name, "revision": body.revision, "prune": body.prune, "resources": resources}
            reply = ctx.ask_workers("preview", params)
            if not reply["found"]:
                raise UnknownApplication(name)
            if "error" in reply:
                raise ApiError(422, reply["error"])
            return _json(reply["plan"])
        try:
            sync_request = actions.sync(
                ctx.services().store, name, revision=body.revision, prune=body.prune, resources=resources
            )
        except actions.SyncHeld as exc:
            raise ApiError(409, str(exc)) from None
        except actions.ActionRefused as exc:
            raise ApiError(400, str(exc)) from None
        ctx.enqueue_sync(sync_request)
        return _json({"queued": True, "request": sync_request.to_dict()}, 202)

    @router.post(
        "/{name}/rollback",
        summary="Sync to the revision and source of a history entry",
        status_code=202,
        response_model=Queued,
        responses={**_ERRORS, **_NOT_FOUND, 409: {"model": ErrorBody, "description": "refused (e.g. auto-sync on)"}},
        # Argo CD checks `sync` for a rollback (unless server.rbac.rollback.enforce.enable).
        dependencies=[Depends(permit_app("sync"))],
    )
    def rollback(request: Request, name: str, body: RollbackBody) -> JSONResponse:
        ctx = context(request)
        try:
            sync_request = actions.rollback(ctx.services().store, name, body.id, prune=body.prune)
        except actions.ActionRefused as exc:
            raise ApiError(409, str(exc)) from None
        ctx.enqueue_sync(sync_request)
        return _json({"queued": True, "request": sync_request.to_dict()}, 202)

    @router.post(
        "/{name}/terminate-op",
        summary="Stop the app's running sync before its next step (it ends Failed, 'terminated')",
        status_code=202,
        response_model=ActionDone,
        responses={**_ERRORS, **_NOT_FOUND, 409: {"model": ErrorBody, "description": "no running operation"}},
        dependencies=[Depends(permit_app("sync"))],  # as Argo CD's TerminateOperation
    )
    def terminate_op(request: Request, name: str) -> JSONResponse:
        try:
            result = actions.terminate_operation(context(request).services().store, name)
        except actions.ActionRefused as exc:
            raise ApiError(409, str(exc)) from None
        return _json(result, 202)

    @router.post(
        "/{name}/confirm-prune",
        summary="Let the app's sync delete the objects marked Prune=confirm",
        response_model=ActionDone,
        responses={**_ERRORS, **_NOT_FOUND},
        # Argo CD confirms by annotating the Application: an update.
        dependencies=[Depends(permit_app("update"))],
    )
    def confirm_prune(request: Request, name: str) -> JSONResponse:
        return _json(actions.confirm_prune(context(request).services().store, name))

    return router
