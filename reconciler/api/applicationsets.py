"""The REST API over ApplicationSets and clusters:
`GET|POST /api/v1/applicationsets`, `POST /api/v1/applicationsets/generate` (a dry run: the
Applications a set would produce, created nowhere), `GET|DELETE /api/v1/applicationsets/NAME`,
`GET|POST /api/v1/clusters` (Argo CD cluster Secrets; no credentials ever answered).

Thin shells over reconciler.control.appsets.actions, so `reconciler appset ...` prints the same
whether it talks to Redis or to this API.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from reconciler.api.access.identity import Caller
from reconciler.api.access.permits import permit_each, require
from reconciler.api.applications import BODY_SOURCE, _json, _manifest_text, manifest_body
from reconciler.api.auth import context, rest_caller
from reconciler.api.errors import ApiError
from reconciler.api.models import AUTH_ERRORS, MANIFESTS_BODY, ErrorBody
from reconciler.control.appsets import actions
from reconciler.control.appsets.clusters import cluster_rows
from reconciler.control.appsets.reconcile import delete_appset
from reconciler.model import SpecError, parse_manifests
from reconciler.model.appset_types import ApplicationSet, ClusterSecret

_ERRORS = AUTH_ERRORS
_YAML_BODY = MANIFESTS_BODY


def _documents(raw: bytes, kind: type, what: str) -> list[Any]:
    try:
        documents = parse_manifests(_manifest_text(raw), source_file=BODY_SOURCE)
    except SpecError as exc:
        raise ApiError(
            400,
            f"the manifests have {len(exc.problems)} problem(s); nothing was registered: fix each one listed",
            [str(p) for p in exc.problems],
        ) from None
    others = [type(d).__name__ for d in documents if not isinstance(d, kind)]
    if others or not documents:
        raise ApiError(
            400,
            f"send {what} here (found {', '.join(others) or 'none'}); other kinds go to POST /api/v1/applications",
        )
    return documents


def _appset_object(request: Request, name: str) -> str:
    """`<project>/<name>` of a registered set (its template's project), `*/<name>` of an unknown
    one: like an app's, a name the caller may not see answers 403, not 404."""
    manifest = context(request).services().store.appset_manifest(name)
    return f"*/{name}" if manifest is None else f"{actions.appset_project(manifest)}/{name}"


def _allows(request: Request, caller: Caller, resource: str, obj: str) -> bool:
    ctx = context(request)
    return ctx.access.allows(ctx.services().store, caller, resource, "get", obj)


def appsets_router() -> APIRouter:
    # Every route checks Argo CD's RBAC itself (permit_each): `applicationsets` objects are
    # `<project>/<set>`, `clusters` objects the cluster's server URL, as in Argo CD's policies.
    router = APIRouter(prefix="/api/v1", tags=["applicationsets"], dependencies=[Depends(permit_each())])

    @router.post(
        "/applicationsets",
        summary="Register or update ApplicationSets (YAML or JSON)",
        status_code=201,
        responses={400: {"model": ErrorBody, "description": "invalid manifests"}, **_ERRORS},
        openapi_extra=_YAML_BODY,
    )
    async def create(request: Request, caller: Caller = Depends(rest_caller)) -> JSONResponse:  # noqa: B008
        raw = await manifest_body(request)
        documents = _documents(raw, ApplicationSet, "ApplicationSet manifests")
        store = context(request).services().store
        for doc in documents:  # all checked before any is registered
            action = "update" if store.appset_manifest(doc.name) is not None else "create"
            require(request, caller, "applicationsets", action, f"{actions.appset_project(doc.manifest)}/{doc.name}")
        created = [d.name for d in documents if await run_in_threadpool(actions.register_appset, store, d)]
        return _json({"applicationSets": [d.name for d in documents], "created": created}, 201 if created else 200)

    @router.post(
        "/applicationsets/generate",
        summary="The Applications a set would produce now (dry run)",
        responses={
            400: {"model": ErrorBody, "description": "invalid set"},
            422: {"model": ErrorBody, "description": "a generator or template failed"},
            **_ERRORS,
        },
        openapi_extra=_YAML_BODY,
    )
    async def generate(request: Request, caller: Caller = Depends(rest_caller)) -> JSONResponse:  # noqa: B008
        raw = await manifest_body(request)
        # Read with the manifests' node budget (a YAML bomb is refused here, never expanded).
        documents = _documents(raw, ApplicationSet, "one ApplicationSet")
        if len(documents) != 1:
            raise ApiError(400, f"send one ApplicationSet manifest to generate (found {len(documents)})")
        manifest = documents[0].manifest
        # It reads repositories and clusters with the system's credentials: as creating the set would.
        name = str((manifest.get("metadata") or {}).get("name") or "")
        require(request, caller, "applicationsets", "create", f"{actions.appset_project(manifest)}/{name}")
        # A worker generates it: its generators read Git and its templates run there, never here.
        reply = await run_in_threadpool(context(request).ask_workers, "appset-generate", {"manifest": manifest})
        if "error" in reply:
            raise ApiError(422, str(reply["error"]))
        return _json(reply["apps"])

    @router.get("/applicationsets", summary="List ApplicationSets with their apps' sync and health")
    def list_appsets(request: Request, caller: Caller = Depends(rest_caller)) -> JSONResponse:  # noqa: B008
        rows = actions.list_appsets(context(request).services().store)
        return _json([r for r in rows if _allows(request, caller, "applicationsets", f"{r['project']}/{r['name']}")])

    @router.get(
        "/applicationsets/{name}",
        summary="One ApplicationSet: conditions, resources, rollout",
        responses={404: {"model": ErrorBody, "description": "no such ApplicationSet"}, **_ERRORS},
    )
    def get_appset(request: Request, name: str, caller: Caller = Depends(rest_caller)) -> JSONResponse:  # noqa: B008
        require(request, caller, "applicationsets", "get", _appset_object(request, name))
        try:
            return _json(actions.get_appset(context(request).services().store, name))
        except actions.UnknownAppSet as exc:
            raise ApiError(404, str(exc)) from None

    @router.delete(
        "/applicationsets/{name}",
        summary="Deregister a set and its apps (resources per preserveResourcesOnDeletion and each app's finalizer)",
        responses={
            404: {"model": ErrorBody, "description": "no such ApplicationSet"},
            **_ERRORS,
        },
    )
    def delete(request: Request, name: str, caller: Caller = Depends(rest_caller)) -> JSONResponse:  # noqa: B008
        require(request, caller, "applicationsets", "delete", _appset_object(request, name))
        ctx = context(request)
        try:
            result, deletes = delete_appset(ctx.services(), name)
        except LookupError as exc:
            raise ApiError(404, str(exc)) from None
        for delete_request in deletes:  # each app's resources: a delete operation on a worker
            ctx.enqueue_delete(delete_request)
        return _json(result)

    @router.get("/clusters", summary="Known clusters: in-cluster and registered cluster Secrets (no credentials)")
    def list_clusters(request: Request, caller: Caller = Depends(rest_caller)) -> JSONResponse:  # noqa: B008
        rows = cluster_rows(context(request).services().store)
        return _json([r for r in rows if _allows(request, caller, "clusters", r["server"])])

    @router.post(
        "/clusters",
        summary="Register Argo CD cluster Secrets",
        status_code=201,
        responses={400: {"model": ErrorBody, "description": "invalid Secret"}, **_ERRORS},
        openapi_extra=_YAML_BODY,
    )
    async def add_clusters(request: Request, caller: Caller = Depends(rest_caller)) -> JSONResponse:  # noqa: B008
        raw = await manifest_body(request)
        documents = _documents(raw, ClusterSecret, "cluster Secrets (label argocd.argoproj.io/secret-type: cluster)")
        known = context(request).services().store.cluster_manifests()
        for doc in documents:
            require(request, caller, "clusters", "update" if doc.name in known else "create", doc.server)
        names = await run_in_threadpool(actions.register_clusters, context(request).services().store, documents)
        return _json({"clusters": names}, 201)

    return router
