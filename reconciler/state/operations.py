"""Sync operations: the state machine of one operation, the state users see, failed revisions."""

from __future__ import annotations

import json
from typing import Any

from reconciler.state.app_events import APP_EVENTS_KEPT
from reconciler.state.base import RedisState
from reconciler.state.keys import Keys, dumps

# Advance an operation's state machine from one step to the next, once.
_ADVANCE_OPERATION = """
local current = redis.call('GET', KEYS[1])
if not current then return -1 end
local state = cjson.decode(current)
if tonumber(state['step']) ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
"""


class OperationsState(RedisState):
    SCRIPTS = {"_advance": _ADVANCE_OPERATION}

    def put_operation(self, op_id: str, state: dict[str, Any], ttl_seconds: float) -> None:
        sealed = dumps(self.sealer.seal(state))
        self._durably(lambda pipe: pipe.set(Keys.operation(op_id), sealed, ex=int(ttl_seconds)))

    def end_operation(self, op_id: str, app: str, phase: str, ttl_seconds: float) -> None:
        """Replace an ended operation (its steps hold every object it applied) by a stub that says
        it ended, kept `ttl_seconds` for redelivered steps; its outcome is in the app's operation state."""
        self.put_operation(op_id, {"id": op_id, "app": app, "step": -1, "steps": [], "ended": phase}, ttl_seconds)

    def operation(self, op_id: str) -> dict[str, Any] | None:
        return self._open(self.r.get(Keys.operation(op_id)))

    def advance_operation(self, op_id: str, from_step: int, state: dict[str, Any]) -> bool:
        """Write `state` only if the operation is still at `from_step`: one task advances it."""
        sealed = dumps(self.sealer.seal(state))
        key = Keys.operation(op_id)
        replies = self._durably(lambda pipe: self._advance(keys=[key], args=[from_step, sealed], client=pipe))
        return int(replies[0]) == 1

    def request_termination(self, op_id: str, ttl_seconds: float) -> None:
        self.r.set(Keys.operation_terminate(op_id), "1", ex=max(int(ttl_seconds), 1))

    def termination_requested(self, op_id: str) -> bool:
        return bool(self.r.exists(Keys.operation_terminate(op_id)))

    def confirm_prune(self, name: str, ttl_seconds: float) -> None:
        self.r.set(Keys.prune_confirmed(name), "1", ex=max(int(ttl_seconds), 1))

    def set_deletion_problem(self, name: str, message: str) -> None:
        """A cascade delete kept the app (a PreDelete or PostDelete hook failed or did not
        finish): polls report it as a DeletionError condition and nothing syncs the app until
        it is deleted."""
        self.r.set(Keys.deleting(name), message)

    def deletion_problem(self, name: str) -> str:
        return str(self.r.get(Keys.deleting(name)) or "")

    def request_delete(self, name: str, request: dict[str, Any]) -> None:
        """A cascade delete of `name` is asked for: it starts once no sync holds the app, and
        no new sync starts meanwhile (Argo CD: an app with a deletionTimestamp does not sync)."""
        self.r.set(Keys.delete_request(name), dumps(request))

    def delete_request(self, name: str) -> dict[str, Any] | None:
        raw = self.r.get(Keys.delete_request(name))
        return json.loads(raw) if raw else None

    def clear_delete_request(self, name: str) -> None:
        self.r.delete(Keys.delete_request(name))

    def delete_requests(self) -> dict[str, dict[str, Any]]:
        """Every app with a cascade delete asked for (beat looks for ones nothing runs)."""
        found: dict[str, dict[str, Any]] = {}
        for key in self.r.scan_iter(match=Keys.delete_request("*"), count=1000):
            raw = self.r.get(key)
            if raw:
                found[key.split(":", 2)[2]] = json.loads(raw)
        return found

    def mark_pre_delete_done(self, name: str) -> None:
        """A cascade delete's PreDelete hooks all completed. As Argo CD removes its pre-delete
        finalizer then, deleting the app again (after a PostDelete hook or a resource failed)
        does not run them again."""
        self.r.set(Keys.pre_deleted(name), "1")

    def pre_delete_done(self, name: str) -> bool:
        return bool(self.r.exists(Keys.pre_deleted(name)))

    def prune_confirmed(self, name: str) -> bool:
        return bool(self.r.exists(Keys.prune_confirmed(name)))

    def clear_prune_confirmation(self, name: str) -> None:
        self.r.delete(Keys.prune_confirmed(name))

    def put_operation_state(self, name: str, state: dict[str, Any]) -> None:
        sealed = dumps(self.sealer.seal(state))

        def write(pipe: Any) -> None:
            pipe.set(Keys.operation_state(name), sealed)
            pipe.xadd(Keys.app_events, {"type": "operation", "app": name}, maxlen=APP_EVENTS_KEPT, approximate=True)

        self._durably(write)

    def operation_state(self, name: str) -> dict[str, Any] | None:
        return self._open(self.r.get(Keys.operation_state(name)))

    def mark_failed(self, name: str, marker: str) -> None:
        self.r.set(Keys.failed(name), marker)

    def failed_marker(self, name: str) -> str | None:
        return self.r.get(Keys.failed(name))

    def clear_failed(self, name: str) -> None:
        self.r.delete(Keys.failed(name))

    def operation_states(self, names: list[str]) -> dict[str, dict[str, Any] | None]:
        """The latest operation of each app, in one round trip (metrics, the watchdog)."""
        if not names:
            return {}
        raws = self.r.mget([Keys.operation_state(n) for n in names])
        return {n: self._open(raw) for n, raw in zip(names, raws, strict=True)}

    def _open(self, raw: str | None) -> dict[str, Any] | None:
        return dict(self.sealer.unseal(json.loads(raw))) if raw else None
