"""Webhook bookkeeping: coalesced fresh polls, the per-source rate limit, deliveries seen."""

from __future__ import annotations

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys

# A webhook's fresh poll is queued unless one is already waiting: the marker holds when
# the waiting poll was queued, and a status observed since then (the poll started after
# it) means that poll ran, so a later push needs a poll of its own.
_CLAIM_WEBHOOK_POLL = """
local queued = redis.call('GET', KEYS[1])
if queued then
  local status = redis.call('GET', KEYS[2])
  local observed = 0
  if status then
    local ok, decoded = pcall(cjson.decode, status)
    if ok and decoded['observedAt'] then observed = tonumber(decoded['observedAt']) or 0 end
  end
  if observed < tonumber(queued) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


class WebhooksState(RedisState):
    SCRIPTS = {"_claim_webhook_poll": _CLAIM_WEBHOOK_POLL}

    def claim_webhook_poll(self, name: str, now: float, ttl_seconds: float) -> bool:
        """True when the caller should queue a fresh poll of `name`; False when one queued
        earlier has not run yet and will see this push too (a burst coalesces into it)."""
        args = [f"{now:.6f}", int(ttl_seconds * 1000)]
        return bool(self._claim_webhook_poll(keys=[Keys.webhook_poll(name), Keys.status(name)], args=args))

    def clear_webhook_poll(self, name: str) -> None:
        """The queued fresh poll has started: a push from now on needs another one."""
        self.r.delete(Keys.webhook_poll(name))

    def first_delivery(self, provider: str, delivery: str, window_seconds: float) -> bool:
        """True the first time `provider`'s delivery `delivery` is seen within the window."""
        key = Keys.webhook_delivery(provider, delivery)
        return bool(self.r.set(key, "1", nx=True, ex=max(int(window_seconds), 1)))

    def forget_delivery(self, provider: str, delivery: str) -> None:
        """Handling the delivery failed: a resend of it must be handled again."""
        self.r.delete(Keys.webhook_delivery(provider, delivery))

    def count_webhook_request(self, source: str, window_seconds: int = 60) -> tuple[int, float]:
        """Count one webhook request from `source` in the current fixed window; returns
        (requests in the window so far, seconds until the window ends)."""
        return self._count_in_window(Keys.webhook_rate(source), window_seconds)
