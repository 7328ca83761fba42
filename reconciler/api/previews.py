"""`POST /api/v1/previews` and `GET /api/v1/previews/{id}`: what a change between two commits of
a repository does to every app that uses it (reconciler/control/previews, docs/previews.md).

Read-only: a caller who may `get` applications may preview them. The preview covers only the
apps the caller may `get` (it never renders more than its caller could read), and each read
of it shows only the apps its reader may `get`. The work runs on a worker's `preview` queue;
the POST answers 202 with a `Location` to poll (or, with `?wait=SECONDS`, the finished
document when it ends within that time).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from reconciler.api.access.identity import Caller
from reconciler.api.access.permits import permit_each, visible_apps
from reconciler.api.auth import context, rest_caller
from reconciler.api.errors import ApiError
from reconciler.api.models import ErrorBody
from reconciler.control.previews.document import visible_to
from reconciler.control.previews.lifecycle import ENDED, public_view, verdicts
from reconciler.control.previews.request import InvalidPreviewRequest, PreviewRequest, check_request
from reconciler.control.previews.select import concerned_apps
from reconciler.core.urls import redact_urls_in

MAX_WAIT_SECONDS = 60.0
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no valid bearer token or session"},
}


def _visible_names(request: Request, caller: Caller) -> list[str]:
    rows = context(request).app_rows()
    return [row["name"] for row in visible_apps(request, caller, rows)]


def _uses(request: Request, names: list[str], repo_url: str) -> bool:
    manifests = context(request).services().store.app_manifests()
    return bool(concerned_apps(manifests, repo_url, None, names))


def _start(request: Request, caller: Caller, body: dict[str, Any]) -> str:
    try:
        repo_url, base, head = check_request(body.get("repoURL"), body.get("base"), body.get("head"))
    except InvalidPreviewRequest as exc:
        raise ApiError(400, str(exc)) from None
    names = _visible_names(request, caller)
    if not _uses(request, names, repo_url):
        raise ApiError(
            404, f"no application you may get uses repository {repo_url}: check repoURL (as in the apps' "
            "spec.source.repoURL), or ask for `get` on the applications that use it"
        )
    from workers.tasks import queue_preview

    return queue_preview(context(request).services().store, PreviewRequest(repo_url, base, head, apps=tuple(names)))


def _view_for(request: Request, caller: Caller, preview_id: str) -> tuple[dict[str, Any], bool]:
    record = context(request).services().store.preview(preview_id)
    if record is None:
        raise ApiError(404, f"no preview {preview_id!r}: previews are kept 14 days; start another with "
                            "POST /api/v1/previews")
    ctx = context(request)
    store = ctx.services().store
    view = visible_to(
        public_view(record), lambda project, name: ctx.access.allows(store, caller, "applications", "get",
                                                                      f"{project}/{name}"))
    ended = record["state"] in ENDED
    if record["state"] == "finished":
        view.update(verdicts(view))
    return view, ended


def _answer(view: dict[str, Any], ended: bool) -> JSONResponse:
    if ended:
        return JSONResponse(redact_urls_in(view))
    location = f"/api/v1/previews/{view['id']}"
    return JSONResponse(redact_urls_in(view), status_code=202, headers={"Location": location, "Retry-After": "1"})


def previews_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/previews", tags=["previews"], dependencies=[Depends(rest_caller)])

    @router.post(
        "",
        summary="Preview what a change between two commits of a repository does to the apps that use it",
        status_code=202,
        responses={
            200: {"description": "the finished document (with ?wait=, when it ended in time)"},
            202: {"description": "queued; poll the Location"},
            400: {"model": ErrorBody, "description": "a field is invalid (named)"},
            404: {"model": ErrorBody, "description": "no application the caller may get uses the repository"},
            **_ERRORS,
        },
        dependencies=[Depends(permit_each())],
    )
    async def create(
        request: Request,
        caller: Caller = Depends(rest_caller),  # noqa: B008
        wait: float = Query(0.0, ge=0, le=MAX_WAIT_SECONDS, description="seconds to wait for the result"),
    ) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, 'the body must be JSON: {"repoURL": ..., "base": ..., "head": ...}') from None
        if not isinstance(body, dict):
            raise ApiError(400, 'the body must be a JSON object: {"repoURL": ..., "base": ..., "head": ...}')
        preview_id = await run_in_threadpool(_start, request, caller, body)
        deadline = time.monotonic() + wait
        while True:
            view, ended = await run_in_threadpool(_view_for, request, caller, preview_id)
            if ended or time.monotonic() >= deadline:
                return _answer(view, ended)
            await asyncio.sleep(0.2)

    @router.get(
        "/{preview_id}",
        summary="A preview: 202 while it runs, then the document (apps the caller may get only)",
        responses={202: {"description": "still queued or running"},
                   404: {"model": ErrorBody, "description": "no such preview"}, **_ERRORS},
        dependencies=[Depends(permit_each())],
    )
    def get(request: Request, preview_id: str, caller: Caller = Depends(rest_caller)) -> JSONResponse:  # noqa: B008
        return _answer(*_view_for(request, caller, preview_id))

    return router

