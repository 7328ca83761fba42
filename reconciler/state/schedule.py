"""When each app is polled next, and sync requests deferred until a time (retries with backoff)."""

from __future__ import annotations

import json
from typing import Any

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys, dumps

# Claim due apps atomically, so two beat processes never both enqueue the same poll.
# Each claimed app is rescheduled at now + its interval, stretched by up to `jitter` of
# the interval (a hash of name and time, since Lua here has no usable randomness), which
# keeps 10,000 apps from converging on the same second.
_CLAIM_DUE = """
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local default_interval = tonumber(ARGV[3])
local jitter = tonumber(ARGV[4])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, name in ipairs(due) do
  local interval = tonumber(redis.call('HGET', KEYS[2], name) or default_interval)
  local spread = tonumber(string.sub(redis.sha1hex(name .. ARGV[1]), 1, 6), 16) / 16777215
  redis.call('ZADD', KEYS[1], now + interval * (1 + jitter * spread), name)
end
return due
"""

_CLAIM_DEFERRED = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
end
return due
"""


class ScheduleState(RedisState):
    SCRIPTS = {"_claim": _CLAIM_DUE, "_claim_deferred": _CLAIM_DEFERRED}

    def schedule_poll(self, name: str, at: float, interval: float | None = None) -> None:
        """Set when an app polls next; `interval` overrides the global one for this app."""
        with self.r.pipeline() as pipe:
            pipe.zadd(Keys.schedule, {name: at})
            if interval:
                pipe.hset(Keys.poll_interval, name, interval)
            else:
                pipe.hdel(Keys.poll_interval, name)
            pipe.execute()

    def poll_soon(self, name: str, at: float) -> None:
        """Move the app's next poll earlier to `at` (never later), e.g. while it is Progressing."""
        self.r.zadd(Keys.schedule, {name: at}, lt=True)

    def next_poll(self, name: str) -> float | None:
        score = self.r.zscore(Keys.schedule, name)
        return float(score) if score is not None else None

    def claim_due_polls(
        self, now: float, default_interval: float, limit: int = 500, jitter: float = 0.1
    ) -> list[str]:
        due = self._claim(
            keys=[Keys.schedule, Keys.poll_interval], args=[f"{now:.3f}", limit, default_interval, jitter]
        )
        return list(due)

    def defer(self, request: dict[str, Any], at: float) -> None:
        self.r.zadd(Keys.deferred, {dumps(request): at})

    def claim_deferred(self, now: float, limit: int = 100) -> list[dict[str, Any]]:
        """Due requests, each handed to exactly one caller."""
        return [json.loads(m) for m in self._claim_deferred(keys=[Keys.deferred], args=[f"{now:.3f}", limit])]

    def deferred(self) -> list[tuple[dict[str, Any], float]]:
        return [(json.loads(m), float(score)) for m, score in self.r.zrange(Keys.deferred, 0, -1, withscores=True)]
