"""What every part of the Store shares: the Redis client and the Lua scripts registered on it."""

from __future__ import annotations

from typing import ClassVar

import redis


class RedisState:
    """A concern's slice of the Store. SCRIPTS maps an attribute name to a Lua script that
    `Store.__init__` registers on the client, so each concern keeps its scripts beside the
    methods that call them."""

    SCRIPTS: ClassVar[dict[str, str]] = {}
    r: redis.Redis
