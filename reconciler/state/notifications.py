"""Notifications: what each app was already notified of, the deliveries not yet done, and the
last deliveries and failures each app shows.

A notification is claimed and put in the outbox in one script, so a condition that holds at
every poll is claimed once (Argo CD's notified-state annotation, kept here instead), and a
claimed notification is never lost: the outbox entry stays until a delivery task has sent it or
given up, and beat puts entries no task has touched for a while back on the ready list.
"""

from __future__ import annotations

import json
import time
from typing import Any

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys, dumps

# KEYS: state hash, outbox hash, ready list. ARGV: state field, delivery id, payload, now.
_CLAIM = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[4]) == 0 then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[2])
return 1
"""

_UPDATE_IF_PRESENT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
"""

NOTIFIED_HISTORY_MAX = 100  # Argo CD keeps this many notified keys per app
LOG_LENGTH = 20
LOG_TTL_SECONDS = 7 * 24 * 3600


class NotificationsState(RedisState):
    SCRIPTS = {"_claim_notification": _CLAIM, "_update_if_present": _UPDATE_IF_PRESENT}

    def claim_notification(self, app: str, state_key: str, delivery_id: str, payload: dict[str, Any]) -> bool:
        """Mark `state_key` notified and queue the delivery; False when it already was."""
        now = f"{time.time():.3f}"
        claimed = bool(
            self._claim_notification(
                keys=[Keys.notified(app), Keys.notify_outbox, Keys.notify_ready],
                args=[state_key, delivery_id, dumps(payload), now],
            )
        )
        if claimed and self.r.hlen(Keys.notified(app)) > NOTIFIED_HISTORY_MAX:
            self._trim_notified(app)
        return claimed

    def _trim_notified(self, app: str) -> None:
        entries = sorted(self.r.hgetall(Keys.notified(app)).items(), key=lambda item: float(item[1]))
        oldest = [key for key, _ in entries[: len(entries) - NOTIFIED_HISTORY_MAX]]
        if oldest:
            self.r.hdel(Keys.notified(app), *oldest)

    def notified_keys(self, app: str) -> set[str]:
        return set(self.r.hkeys(Keys.notified(app)))

    def forget_notified(self, app: str, state_keys: list[str]) -> None:
        """A condition no longer holds: the next time it does, it notifies again (no oncePer)."""
        if state_keys:
            self.r.hdel(Keys.notified(app), *state_keys)

    def notify_decision(self, app: str) -> dict[str, Any]:
        raw = self.r.get(Keys.notify_seen(app))
        return json.loads(raw) if raw else {}

    def set_notify_seen(self, app: str, fingerprint: str, problems: list[str]) -> None:
        """What the last decision saw, and the subscriptions it could not honour (shown on the app)."""
        self.r.set(Keys.notify_seen(app), dumps({"fingerprint": fingerprint, "problems": problems, "at": time.time()}))

    def take_ready_deliveries(self, limit: int = 100) -> list[str]:
        taken = self.r.lpop(Keys.notify_ready, limit)
        return list(taken or [])

    def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        raw = self.r.hget(Keys.notify_outbox, delivery_id)
        return json.loads(raw) if raw else None

    def update_delivery(self, delivery_id: str, entry: dict[str, Any]) -> bool:
        """Rewrite a pending delivery (attempts, last error); False when it is done already."""
        # HSET only if present: a finished delivery must not come back.
        return bool(self._update_if_present(keys=[Keys.notify_outbox], args=[delivery_id, dumps(entry)]))

    def acquire_delivery(self, delivery_id: str, ttl_seconds: float) -> bool:
        """The right to send this delivery now; expires, so a killed sender's lease frees itself."""
        return bool(self.r.set(Keys.notify_sending(delivery_id), "1", nx=True, px=max(int(ttl_seconds * 1000), 1)))

    def release_delivery(self, delivery_id: str) -> None:
        self.r.delete(Keys.notify_sending(delivery_id))

    def finish_delivery(self, delivery_id: str, app: str, record: dict[str, Any]) -> bool:
        """The delivery is done (sent, or given up): out of the outbox, into the app's log.
        False when another task finished it first."""
        with self.r.pipeline() as pipe:
            pipe.hdel(Keys.notify_outbox, delivery_id)
            pipe.lpush(Keys.notify_log(app), dumps(record))
            pipe.ltrim(Keys.notify_log(app), 0, LOG_LENGTH - 1)
            pipe.expire(Keys.notify_log(app), LOG_TTL_SECONDS)
            pipe.delete(Keys.notify_sending(delivery_id))
            removed = pipe.execute()[0]
        return bool(removed)

    def notification_log(self, app: str) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.r.lrange(Keys.notify_log(app), 0, LOG_LENGTH - 1)]

    def pending_deliveries(self, app: str | None = None) -> dict[str, dict[str, Any]]:
        entries = {k: json.loads(v) for k, v in self.r.hgetall(Keys.notify_outbox).items()}
        return {k: v for k, v in entries.items() if app is None or v.get("app") == app}

    def requeue_stale_deliveries(self, older_than: float) -> list[str]:
        """Put back on the ready list the deliveries no task touched since `older_than` (a worker
        died between claiming and queueing, or the queue lost the task)."""
        stale = [
            delivery_id
            for delivery_id, entry in self.pending_deliveries().items()
            if float(entry.get("touchedAt") or 0) < older_than and not self.r.exists(Keys.notify_sending(delivery_id))
        ]
        if stale:
            self.r.rpush(Keys.notify_ready, *stale)
        return stale
