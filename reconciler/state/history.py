"""Each app's sync history (capped) and its inventory: what the app owns in the cluster."""

from __future__ import annotations

import json
from typing import Any

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys, dumps


class HistoryState(RedisState):
    def append_history(self, name: str, entry: dict[str, Any], limit: int) -> int:
        """Append a history entry with the next id, keep the newest `limit`; returns the id."""
        entry_id = int(self.r.incr(Keys.history_seq(name)))
        with self.r.pipeline() as pipe:
            pipe.rpush(Keys.history(name), dumps({**entry, "id": entry_id}))
            pipe.ltrim(Keys.history(name), -max(limit, 1), -1)
            pipe.execute()
        return entry_id

    def history(self, name: str) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.r.lrange(Keys.history(name), 0, -1)]

    def inventory(self, name: str) -> dict[str, dict[str, Any]]:
        return {k: json.loads(v) for k, v in self.r.hgetall(Keys.inventory(name)).items()}

    def add_to_inventory(self, name: str, entries: dict[str, dict[str, Any]]) -> None:
        if entries:
            self.r.hset(Keys.inventory(name), mapping={k: dumps(v) for k, v in entries.items()})

    def remove_from_inventory(self, name: str, resource_keys: list[str]) -> None:
        if resource_keys:
            self.r.hdel(Keys.inventory(name), *resource_keys)
