"""Each app's sync history (capped) and its inventory: what the app owns in the cluster."""

from __future__ import annotations

import json
from typing import Any

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys, dumps

# Append an entry with the next id and keep the newest ARGV[3]. An entry naming its operation
# (ARGV[2]) is appended once: a retried or redelivered finish after a failover does not add it twice.
_APPEND_HISTORY = """
if ARGV[2] ~= '' then
  for _, raw in ipairs(redis.call('LRANGE', KEYS[1], -20, -1)) do
    local seen = cjson.decode(raw)
    if seen['operation'] == ARGV[2] then return seen['id'] end
  end
end
local id = redis.call('INCR', KEYS[2])
-- The id goes into the caller's JSON text as it is (cjson would round its timestamps).
local rest = string.sub(ARGV[1], 2)
if rest ~= '}' then rest = ',' .. rest end
redis.call('RPUSH', KEYS[1], '{"id":' .. id .. rest)
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)
return id
"""


class HistoryState(RedisState):
    SCRIPTS = {"_append_history": _APPEND_HISTORY}

    def append_history(self, name: str, entry: dict[str, Any], limit: int) -> int:
        """Append a history entry with the next id, keep the newest `limit`; returns the id.
        Durable: a replica holds it before the sync reports success."""
        args = [dumps(entry), str(entry.get("operation") or ""), max(limit, 1)]
        keys = [Keys.history(name), Keys.history_seq(name)]
        return int(self._durably(lambda pipe: self._append_history(keys=keys, args=args, client=pipe))[0])

    def history(self, name: str) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.r.lrange(Keys.history(name), 0, -1)]

    def last_history_entry(self, name: str) -> dict[str, Any] | None:
        """The newest entry (one LINDEX, not the whole list)."""
        raw = self.r.lindex(Keys.history(name), -1)
        return json.loads(raw) if raw else None

    def inventory(self, name: str) -> dict[str, dict[str, Any]]:
        return {k: json.loads(v) for k, v in self.r.hgetall(Keys.inventory(name)).items()}

    def add_to_inventory(self, name: str, entries: dict[str, dict[str, Any]]) -> None:
        if entries:
            self.r.hset(Keys.inventory(name), mapping={k: dumps(v) for k, v in entries.items()})

    def remove_from_inventory(self, name: str, resource_keys: list[str]) -> None:
        if resource_keys:
            self.r.hdel(Keys.inventory(name), *resource_keys)
