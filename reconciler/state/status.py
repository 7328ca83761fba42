"""Each app's status as its last poll computed it, written only forwards, and its self-heal attempts."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from reconciler.state.app_events import APP_EVENTS_KEPT
from reconciler.state.base import RedisState
from reconciler.state.keys import Keys, dumps

# Per app: its status row (None before rows were kept), owner, operation state, last history entry.
RowInputs = tuple[dict[str, Any] | None, str, dict[str, Any], dict[str, Any] | None]

# What changes at every poll without anything a viewer sees changing.
_VOLATILE = frozenset({"observedAt", "reconciledAt", "verified", "dryRuns", "viewDigest"})

# Status only moves forwards: a slow poll that started before a newer one finished must
# not overwrite the newer result (tasks are redelivered and can run late). The same step keeps
# the app's list row (KEYS[2]) and, when what a viewer sees changed (its digest), adds a
# `status` entry to the app event stream (KEYS[3], state/app_events.py).
_WRITE_STATUS_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
local previous_digest = false
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok then
    if decoded['observedAt'] and tonumber(decoded['observedAt']) > tonumber(ARGV[2]) then
      return 0
    end
    previous_digest = decoded['viewDigest']
  end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
if previous_digest ~= ARGV[6] then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'type', 'status', 'app', ARGV[3])
end
return 1
"""


# How long what a sync applied stays usable as "verified" for the poll after it.
APPLIED_TTL_SECONDS = 3600


class StatusState(RedisState):
    SCRIPTS = {"_write_status": _WRITE_STATUS_IF_NEWER}

    def note_applied(self, name: str, verified: dict[str, str]) -> None:
        """What a sync's apply step stored, as `verified` entries per resource key (compare.py's
        `verified_mark`: by the fields our apply owns, or by the whole object):
        the server's answer to applying the manifest is what a dry-run would answer right after,
        so the next poll need not ask for one while the object stays as the apply left it."""
        if not verified:
            return
        with self.r.pipeline(transaction=False) as pipe:
            pipe.hset(Keys.applied(name), mapping=verified)
            pipe.expire(Keys.applied(name), APPLIED_TTL_SECONDS)
            pipe.execute()

    def take_applied(self, name: str) -> dict[str, str]:
        """The entries `note_applied` left for `name`, removed as they are read."""
        # One round trip without MULTI: an entry noted between the two is lost, which costs the
        # next poll one dry-run, not a wrong verdict.
        with self.r.pipeline(transaction=False) as pipe:
            pipe.hgetall(Keys.applied(name))
            pipe.delete(Keys.applied(name))
            found, _ = pipe.execute()
        return dict(found or {})

    def write_status(self, name: str, status: dict[str, Any]) -> bool:
        """Store an app's status unless a newer one is there (compared by `observedAt`); keep its
        list row and tell the app event stream when what a viewer sees changed."""
        observed = float(status.setdefault("observedAt", time.time()))
        status["viewDigest"] = view_digest(status)
        keys = [Keys.status(name), Keys.app_rows, Keys.app_events]
        args = [dumps(status), f"{observed:.6f}", name, dumps(status_row(status)), APP_EVENTS_KEPT,
                status["viewDigest"]]
        return bool(self._write_status(keys=keys, args=args))

    def row_inputs(self, names: list[str]) -> list[RowInputs]:
        """Per app, in one round trip: its status row (None before rows were kept), owner,
        latest operation state ({} before the first) and last history entry (None)."""
        with self.r.pipeline(transaction=False) as pipe:
            pipe.hmget(Keys.app_rows, names)
            pipe.hmget(Keys.app_owners, names)
            pipe.mget([Keys.operation_state(n) for n in names])
            for name in names:
                pipe.lindex(Keys.history(name), -1)
            status_rows, owners, operations, *last_entries = pipe.execute()
        return [
            (json.loads(status_rows[i]) if status_rows[i] else None, str(owners[i] or ""),
             dict(self.sealer.unseal(json.loads(operations[i]))) if operations[i] else {},
             json.loads(last_entries[i]) if last_entries[i] else None)
            for i in range(len(names))
        ]

    def app_manifests_of(self, names: list[str]) -> dict[str, dict[str, Any]]:
        raws = self.r.hmget(Keys.apps, names)
        return {n: json.loads(raw) for n, raw in zip(names, raws, strict=True) if raw}

    def status_rows(self) -> dict[str, dict[str, Any]]:
        """app -> its list row's status fields (`status_row`), for every app polled since rows exist."""
        return {name: json.loads(raw) for name, raw in self.r.hgetall(Keys.app_rows).items()}

    def status(self, name: str) -> dict[str, Any] | None:
        raw = self.r.get(Keys.status(name))
        return json.loads(raw) if raw else None

    def statuses(self, names: list[str]) -> dict[str, dict[str, Any] | None]:
        if not names:
            return {}
        raws = self.r.mget([Keys.status(n) for n in names])
        return {n: (json.loads(raw) if raw else None) for n, raw in zip(names, raws, strict=True)}

    def self_heal_state(self, name: str) -> tuple[int, float]:
        raw = self.r.hgetall(Keys.self_heal(name))
        return int(raw.get("attempts", 0)), float(raw.get("at", 0.0))

    def record_self_heal(self, name: str, at: float) -> int:
        with self.r.pipeline() as pipe:
            pipe.hincrby(Keys.self_heal(name), "attempts", 1)
            pipe.hset(Keys.self_heal(name), "at", at)
            attempts = pipe.execute()[0]
        return int(attempts)

    def reset_self_heal(self, name: str) -> None:
        self.r.delete(Keys.self_heal(name))

    def note_shared(self, owner: str, resource: str, other: str, ttl_seconds: float) -> None:
        """`other` app wants `resource`, which `owner` tracks: `owner`'s next poll reports it too."""
        key = Keys.shared(owner)
        self.r.hset(key, resource, other)
        self.r.expire(key, max(int(ttl_seconds), 1))

    def shared_notes(self, name: str) -> dict[str, str]:
        """resource -> the other app that wants it (entries expire unless noted again)."""
        return dict(self.r.hgetall(Keys.shared(name)) or {})


def view_digest(status: dict[str, Any]) -> str:
    """A digest of what a viewer sees of a status (all but the bookkeeping of every poll)."""
    visible = {k: v for k, v in status.items() if k not in _VOLATILE}
    return hashlib.sha256(dumps(visible).encode()).hexdigest()[:16]


def status_row(status: dict[str, Any]) -> dict[str, Any]:
    """The fields of an app's list row that come from its status."""
    sync, health = _section(status, "sync"), _section(status, "health")
    return {
        "sync": sync.get("status", "Unknown"),
        "revision": sync.get("revision", ""),
        "health": health.get("status", "Unknown"),
        "observedAt": status.get("observedAt"),
    }


def _section(status: dict[str, Any], key: str) -> dict[str, Any]:
    # A status written by an older version (or by hand) may hold a bare string here; the row
    # then says Unknown rather than failing the write that carries it.
    value = status.get(key)
    return value if isinstance(value, dict) else {}
