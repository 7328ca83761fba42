"""Answers a worker hands back to the API process that asked for them (an API without cluster
credentials has workers do its cluster calls): one short-lived list per request, so the API
waits with a blocking pop instead of polling."""

from __future__ import annotations

import json
from typing import Any

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys, dumps


class RepliesState(RedisState):
    def put_reply(self, request_id: str, reply: dict[str, Any], ttl_seconds: float) -> None:
        key = Keys.reply(request_id)
        with self.r.pipeline() as pipe:
            pipe.rpush(key, dumps(reply))
            pipe.expire(key, max(int(ttl_seconds), 1))
            pipe.execute()

    def claim_refresh(self, name: str, window_seconds: float) -> bool:
        """True for the first read-only refresh of app `name` in a window of `window_seconds`."""
        return bool(self.r.set(Keys.refresh_claim(name), "1", nx=True, px=max(int(window_seconds * 1000), 1)))

    def wait_reply(self, request_id: str, timeout_seconds: float) -> dict[str, Any] | None:
        """The reply, or None when none came within the timeout."""
        found = self.r.blpop([Keys.reply(request_id)], timeout=max(timeout_seconds, 0.01))
        return json.loads(found[1]) if found else None
