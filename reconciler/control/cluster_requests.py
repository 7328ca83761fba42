"""Cluster work an API process hands to a worker when it has no cluster credentials itself
(RECONCILER_API_CLUSTER_ACCESS=workers, as the Helm chart runs it: the API pod mounts no
Kubernetes token). Each request is plain data in, a JSON-safe answer out; workers/tasks.py
runs it and hands the answer back through Redis (state/replies.py).

    refresh  a fresh poll of one app            -> {"status": ..., "found": bool}
    preview  a dry-run sync plan                -> {"plan": ...} or {"error": ...}
    resource-tree, resource, events, logs, actions, run-action
             the views of control/views/requests.py -> {"found": True, "view": body}
    appset-generate  the Applications a set would produce (`appset generate` through the API)
                                                -> {"apps": [...]} or {"error": ...}

The set's generators read Git and its templates run here, in a worker, never in the API
process (whatever RECONCILER_API_CLUSTER_ACCESS says), as every render does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reconciler.control.appsets.actions import GenerateFailed, generate_preview
from reconciler.control.catalog import UnknownApplication
from reconciler.control.dry_run_sync import PreviewError, preview_sync
from reconciler.control.poll import refresh
from reconciler.control.requests import SyncRequest
from reconciler.control.views.requests import KINDS as VIEW_KINDS
from reconciler.control.views.requests import answer as answer_view
from reconciler.services import Services

KINDS = ("refresh", "preview", "appset-generate", *VIEW_KINDS)


class UnknownRequest(ValueError):
    pass


def answer(services: Services, kind: str, params: dict[str, Any]) -> tuple[dict[str, Any], list[SyncRequest]]:
    """The answer to one request, and the syncs it decided (a fresh poll may start one)."""
    if kind == "appset-generate":
        try:
            return {"apps": generate_preview(services, dict(params["manifest"]))}, []
        except GenerateFailed as exc:
            return {"error": str(exc)}, []
    name = str(params["name"])
    try:
        if kind == "refresh":
            result = refresh(services, name, fresh_refs=True)
            if result is None:
                return {"found": False}, []
            syncs = [dataclasses.replace(result.sync, urgent=True)] if result.sync is not None else []
            return {"found": True, "status": result.status}, syncs
        if kind == "preview":
            try:
                plan = preview_sync(
                    services, name, revision=str(params.get("revision") or ""), prune=bool(params.get("prune")),
                    resources=list(params.get("resources") or []), source=params.get("source"),
                )
            except PreviewError as exc:
                return {"found": True, "error": str(exc)}, []
            return {"found": True, "plan": plan}, []
        if kind in VIEW_KINDS:
            return {"found": True, "view": answer_view(services, kind, params)}, []
    except UnknownApplication:
        return {"found": False}, []
    raise UnknownRequest(f"no cluster request of kind {kind!r}; known: {', '.join(KINDS)}")

