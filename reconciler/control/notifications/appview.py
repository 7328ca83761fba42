"""The Application as Argo CD Notifications sees it: the manifest with a `status` in Argo CD's
field names and types (RFC 3339 times), built from what this system stores, so trigger
conditions and templates written for Argo CD read the same fields here.

| Argo CD field                                        | from                                    |
| ---------------------------------------------------- | --------------------------------------- |
| status.sync.status, .revision, .revisions           | the last poll's status                  |
| status.health.status, .message, .lastTransitionTime | the last poll's status                  |
| status.conditions[], status.resources[]             | the last poll's status                  |
| status.reconciledAt, status.observedAt              | the last poll's status                  |
| status.operationState.phase, .message, .startedAt, .finishedAt, .retryCount | the last sync operation |
| status.operationState.operation.sync.revision, .initiatedBy | the last sync operation        |
| status.operationState.syncResult.revision, .resources[] | the last sync operation             |
| status.history[]                                     | the app's history                       |
| metadata.deletionTimestamp                           | set while (or once) the app is deleted  |
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from reconciler.control.notifications.expr.values import format_rfc3339

ARGOCD_NAMESPACE = "argocd"
_AUTOMATED_TRIGGERS = ("auto", "selfheal", "retry")


def application_view(
    manifest: Mapping[str, Any],
    status: Mapping[str, Any] | None,
    operation: Mapping[str, Any] | None,
    history: list[dict[str, Any]] | None = None,
    *,
    deleted_at: float | None = None,
) -> dict[str, Any]:
    app = copy.deepcopy(dict(manifest))
    metadata = app.setdefault("metadata", {})
    metadata.setdefault("namespace", ARGOCD_NAMESPACE)
    metadata.setdefault("annotations", {})
    metadata.setdefault("labels", {})
    if deleted_at is not None:
        metadata["deletionTimestamp"] = format_rfc3339(deleted_at)
    app["status"] = _status(status or {}, operation, history or [])
    return app


def _status(status: Mapping[str, Any], operation: Mapping[str, Any] | None, history: list[dict[str, Any]]) -> dict:
    view: dict[str, Any] = {}
    sync = status.get("sync") or {}
    if sync:
        view["sync"] = {key: sync[key] for key in ("status", "revision", "revisions") if key in sync}
    health = status.get("health") or {}
    if health:
        view["health"] = {"status": health.get("status", "Unknown"), "message": health.get("message") or ""}
        if status.get("healthTransitionAt"):
            view["health"]["lastTransitionTime"] = format_rfc3339(float(status["healthTransitionAt"]))
    view["conditions"] = [
        {"type": c.get("type", ""), "message": c.get("message", "")} for c in status.get("conditions") or []
    ]
    view["resources"] = [_resource(r) for r in status.get("resources") or []]
    for name in ("reconciledAt", "observedAt"):
        if status.get(name):
            view[name] = format_rfc3339(float(status[name]))
    if operation:
        view["operationState"] = operation_state(operation)
    if history:
        view["history"] = [_history_entry(entry) for entry in history]
    return view


def _resource(resource: Mapping[str, Any]) -> dict[str, Any]:
    view = {key: resource.get(key, "") for key in ("group", "kind", "namespace", "name", "status")}
    if resource.get("health"):
        view["health"] = dict(resource["health"])
    return view


def operation_state(operation: Mapping[str, Any]) -> dict[str, Any]:
    revision = str(operation.get("revision") or "")
    trigger = str(operation.get("trigger") or "")
    state: dict[str, Any] = {
        "phase": operation.get("phase") or "",
        "message": operation.get("message") or "",
        "retryCount": int(operation.get("retryCount") or 0),
        "operation": {
            "sync": {"revision": revision},
            "initiatedBy": {"automated": True} if trigger in _AUTOMATED_TRIGGERS else {"username": trigger or "user"},
        },
    }
    if operation.get("startedAt"):
        state["startedAt"] = format_rfc3339(float(operation["startedAt"]))
    if operation.get("finishedAt") and operation.get("phase") != "Running":
        state["finishedAt"] = format_rfc3339(float(operation["finishedAt"]))
    if revision:
        state["syncResult"] = {
            "revision": revision,
            "resources": [_sync_result(r) for r in operation.get("resources") or []],
        }
    return state


def _sync_result(result: Mapping[str, Any]) -> dict[str, Any]:
    """An operation's result line (`Kind.group namespace/name`, as str(ResourceKey) writes it)."""
    view: dict[str, Any] = {"status": result.get("status", ""), "message": result.get("message", "")}
    kind_group, _, where = str(result.get("resource") or "").partition(" ")
    kind, _, group = kind_group.partition(".")
    namespace, _, name = where.rpartition("/")
    return {**view, "group": group, "kind": kind, "namespace": namespace, "name": name}


def _history_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    view = {"id": entry.get("id"), "revision": entry.get("revision", ""), "source": entry.get("source") or {}}
    for name in ("deployedAt", "deployStartedAt"):
        if entry.get(name):
            view[name] = format_rfc3339(float(entry[name]))
    return view
