"""The per-app sync lock (a token with a TTL), and sync requests waiting behind it."""

from __future__ import annotations

import json
from typing import Any

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys, dumps

_RELEASE_IF_HOLDER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_RENEW_IF_HOLDER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class LocksState(RedisState):
    SCRIPTS = {"_release": _RELEASE_IF_HOLDER, "_renew": _RENEW_IF_HOLDER}

    def acquire_lock(self, name: str, token: str, ttl_seconds: float) -> bool:
        """Take the lock; durable (a replica holds it before the sync writes to a cluster), so a
        failover does not hand a second sync a lock the first one still holds."""
        ttl_ms = int(ttl_seconds * 1000)
        return bool(self._durably(lambda pipe: pipe.set(Keys.lock(name), token, nx=True, px=ttl_ms))[0])

    def renew_lock(self, name: str, token: str, ttl_seconds: float) -> bool:
        """Extend the lock if `token` still holds it: the fencing check before a cluster write."""
        return bool(self._renew(keys=[Keys.lock(name)], args=[token, int(ttl_seconds * 1000)]))

    def release_lock(self, name: str, token: str) -> bool:
        return bool(self._release(keys=[Keys.lock(name)], args=[token]))

    def lock_holder(self, name: str) -> str | None:
        return self.r.get(Keys.lock(name))

    def remember_pending_sync(self, name: str, request: dict[str, Any]) -> None:
        """Keep the latest sync request for a locked app; it runs when the lock is released."""
        self.r.set(Keys.pending(name), dumps(request))

    def take_pending_sync(self, name: str) -> dict[str, Any] | None:
        raw = self.r.getdel(Keys.pending(name))
        return json.loads(raw) if raw else None

    def take_orphaned_pending_syncs(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Remembered sync requests whose app no sync holds: the operation that should have run
        them died and its lock expired. Each is taken, so only one caller gets it."""
        taken: list[dict[str, Any]] = []
        for key in self.r.scan_iter(match=Keys.pending("*"), count=1000):
            name = key.split(":", 2)[2]
            if self.lock_holder(name) is None and (request := self.take_pending_sync(name)):
                taken.append(request)
            if len(taken) >= limit:
                break
        return taken

    def mark_queued(self, name: str, ttl_seconds: float) -> bool:
        """True for the first request in a burst; later ones coalesce into it."""
        return bool(self.r.set(Keys.queued(name), "1", nx=True, px=int(ttl_seconds * 1000)))

    def clear_queued(self, name: str) -> None:
        self.r.delete(Keys.queued(name))
