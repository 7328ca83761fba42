"""What every part of the Store shares: the Redis client, the Lua scripts registered on it, and
the replication wait of the writes that must survive a failover."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import redis
from redis.client import Pipeline

from reconciler.state.sealing import Sealer

log = logging.getLogger("reconciler.state")


@dataclass(frozen=True)
class Durability:
    """How many replicas must hold a durable write (`WAIT replicas timeout`) before the caller
    goes on; 0 (one Redis, no replicas): no wait."""

    replicas: int = 0
    timeout: float = 1.0


class RedisState:
    """A concern's slice of the Store. SCRIPTS maps an attribute name to a Lua script that
    `Store.__init__` registers on the client, so each concern keeps its scripts beside the
    methods that call them."""

    SCRIPTS: ClassVar[dict[str, str]] = {}
    r: redis.Redis
    sealer: Sealer
    durability: Durability = Durability()

    def _count_in_window(self, key: str, window_seconds: int) -> tuple[int, float]:
        """Count one request against `key`'s fixed window (a rate limit); returns (requests in the
        window so far, seconds until the window ends)."""
        with self.r.pipeline() as pipe:  # MULTI: the window always gets its expiry
            pipe.set(key, 0, ex=window_seconds, nx=True)
            pipe.incr(key)
            pipe.pttl(key)
            _, count, ttl_ms = pipe.execute()
        return int(count), max(float(ttl_ms), 0.0) / 1000

    def _durably(self, write: Callable[[Pipeline], None]) -> list[Any]:
        """Send the commands `write` queues, then (with replicas configured) WAIT until that many
        replicas hold them; returns the commands' replies (WAIT's left out). One pipeline, so one
        connection: WAIT counts the writes of the connection it is sent on. Not a transaction
        (WAIT cannot wait inside MULTI): a write that must be atomic is one Lua script.

        For the writes that must not be lost in a failover (operation steps, history, the app
        registry, the sync lock): a step goes on to its next cluster write only once a replica
        holds the step before it, so a promoted replica never sends a sync back past work already
        done. When no replica acknowledges within the timeout, the write stands on the primary
        alone (its AOF) and the shortfall is logged: stopping every sync while the replicas are
        away would trade a small loss window for an outage."""
        replicas = self.durability.replicas
        with self.r.pipeline(transaction=False) as pipe:
            write(pipe)
            if replicas:
                pipe.execute_command("WAIT", replicas, int(self.durability.timeout * 1000))
            replies = list(pipe.execute())
        if not replicas:
            return replies
        acknowledged = int(replies.pop())
        if acknowledged < replicas:
            log.warning(
                "a durable write is held by %s of %s replicas after %ss: it stands on the primary alone "
                "until the replicas catch up", acknowledged, replicas, self.durability.timeout,
            )
        return replies
