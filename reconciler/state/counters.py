"""Telemetry counters and the bulk reads /metrics makes."""

from __future__ import annotations

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys


class CountersState(RedisState):
    def increment_counters(self, increments: list[tuple[str, str, float]]) -> None:
        """Add each (hash key, field, amount) in one MULTI/EXEC: all of them or none.
        Whole numbers use HINCRBY, others HINCRBYFLOAT."""
        if not increments:
            return
        with self.r.pipeline(transaction=True) as pipe:
            for key, name, amount in increments:
                if isinstance(amount, int):
                    pipe.hincrby(key, name, amount)
                else:
                    pipe.hincrbyfloat(key, name, amount)
            pipe.execute()

    def counters(self, keys: list[str]) -> dict[str, dict[str, str]]:
        """Every field of each counter hash in `keys`, in one round trip."""
        with self.r.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            return dict(zip(keys, pipe.execute(), strict=True))

    def list_lengths(self, keys: list[str]) -> list[int]:
        """LLEN of each key (0 when absent), in one round trip."""
        with self.r.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.llen(key)
            return [int(n) for n in pipe.execute()]

    def app_manifest_texts(self) -> dict[str, str]:
        """App name -> manifest JSON as stored, for readers that cache by the text."""
        return dict(self.r.hgetall(Keys.apps))

    def deferred_count(self) -> int:
        return int(self.r.zcard(Keys.deferred))
