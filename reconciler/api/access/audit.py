"""The audit log: one JSON line for every call that changes something and for every refusal.

    AuditMiddleware(app, audit_log, store_of)   wraps the API; writes after each response

A line says who (`subject`, shown `name`, `groups`, how they authenticated), what (`action`,
`resource`, the `objects`), the HTTP request, and the `outcome`: `succeeded`, `failed` (an
error answer), `denied` (403) or `unauthenticated` (401). Changes are the writing methods
(POST, PUT, PATCH, DELETE: create, update, sync, rollback, delete, terminate, token creation
and revocation, logout) and logins; refusals are every 401 and 403, reads included. Each line
also counts in `reconciler_audit_events_total{action,outcome}` (a Redis counter, so any replica's
/metrics shows every replica's events).

Lines go to RECONCILER_AUDIT_LOG (a file, appended to) or, unset, to standard error, always as
JSON whatever RECONCILER_LOG_FORMAT says, so a log shipper can route them apart. No token,
cookie or request body is ever written.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.state import Store

log = logging.getLogger("reconciler.api.audit")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ACTIONS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}


class AuditLog:
    def __init__(self, path: str = "") -> None:
        self.path = Path(path).expanduser() if path else None
        self._lock = threading.Lock()

    def write(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, sort_keys=True, default=str) + "\n"
        with self._lock:
            if self.path is None:
                sys.stderr.write(line)
                sys.stderr.flush()
                return
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line)


def _outcome(status: int) -> str:
    if status == 401:
        return "unauthenticated"
    if status == 403:
        return "denied"
    return "succeeded" if status < 400 else "failed"


def _who(state: dict[str, Any], path: str) -> dict[str, Any]:
    caller = state.get("caller")
    if caller is None:
        return {"subject": "webhook" if path.startswith("/api/webhook") else "", "via": "none"}
    return {"subject": caller.subject, "name": caller.name, "groups": list(caller.groups), "via": caller.via}


def audit_event(scope: Scope, status: int) -> dict[str, Any] | None:
    """The audit line for a finished request, or None when it is neither a change nor a refusal."""
    method, path = scope.get("method", ""), scope.get("path", "")
    state = scope.get("state") or {}
    action = state.get("audit_action")
    if state.get("audit_skip"):  # a device sign-in's "not yet" poll: neither a change nor a refusal
        return None
    if method not in WRITE_METHODS and status not in (401, 403) and not action:
        return None
    targets = list(state.get("audit_targets") or [])
    resource = targets[0][0] if targets else ""
    action = action or (targets[0][1] if targets else _ACTIONS.get(method, "get"))
    return {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
        "kind": "audit",
        "who": _who(state, path),
        "action": action,
        "resource": resource,
        "objects": [obj for _, _, obj in targets],
        "outcome": state.get("audit_outcome") or _outcome(status),  # a refused sign-on answers with a redirect
        "status": status,
        "request": f"{method} {path}",
        "client": (scope.get("client") or ("", 0))[0],
        **({"reason": state["audit_reason"]} if state.get("audit_reason") else {}),
    }


class AuditMiddleware:
    def __init__(self, app: ASGIApp, audit_log: AuditLog, store_of: Callable[[], Store]) -> None:
        self.app = app
        self.audit_log = audit_log
        self.store_of = store_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        recorded = False

        async def record_then_send(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                # Before the answer leaves: whoever reads the answer may rely on the line being written.
                recorded = True
                await self._maybe_record(scope, int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, record_then_send)
        finally:
            if not recorded:  # the app failed before answering
                await self._maybe_record(scope, 500)

    async def _maybe_record(self, scope: Scope, status: int) -> None:
        event = audit_event(scope, status)
        if event is not None:
            await run_in_threadpool(self._record, event)

    def _record(self, event: dict[str, Any]) -> None:
        self.audit_log.write(event)
        try:
            self.store_of().count_audit_event(event["action"], event["outcome"])
        except Exception as exc:  # the line is written; a counter Redis could not take is only logged
            log.warning("audit event not counted: %s", type(exc).__name__)
