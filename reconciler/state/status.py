"""Each app's status as its last poll computed it, written only forwards, and its self-heal attempts."""

from __future__ import annotations

import json
import time
from typing import Any

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys, dumps

# Status only moves forwards: a slow poll that started before a newer one finished must
# not overwrite the newer result (tasks are redelivered and can run late).
_WRITE_STATUS_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and decoded['observedAt'] and tonumber(decoded['observedAt']) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1])
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
        """Store an app's status unless a newer one is there (compared by `observedAt`)."""
        observed = float(status.setdefault("observedAt", time.time()))
        return bool(self._write_status(keys=[Keys.status(name)], args=[dumps(status), f"{observed:.6f}"]))

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
