"""Typed access to the system's Redis state: one class composed of one slice per concern."""

from __future__ import annotations

import redis

from reconciler.state.base import RedisState
from reconciler.state.caches import CachesState
from reconciler.state.counters import CountersState
from reconciler.state.deliveries import DeliveriesState
from reconciler.state.history import HistoryState
from reconciler.state.live import LiveState
from reconciler.state.locks import LocksState
from reconciler.state.operations import OperationsState
from reconciler.state.registry import RegistryState
from reconciler.state.replies import RepliesState
from reconciler.state.schedule import ScheduleState
from reconciler.state.sealing import Sealer
from reconciler.state.status import StatusState
from reconciler.state.webhooks import WebhooksState


class Store(
    RegistryState,
    ScheduleState,
    StatusState,
    HistoryState,
    LocksState,
    OperationsState,
    CachesState,
    CountersState,
    WebhooksState,
    LiveState,
    RepliesState,
    DeliveriesState,
):
    """Typed access to the system's Redis state. Holds a client; owns no other resources."""

    def __init__(self, client: redis.Redis, sealer: Sealer | None = None) -> None:
        self.r = client
        # Seals Secrets in operation records and cached renders (reconciler/state/sealing.py).
        self.sealer = sealer or Sealer.from_env()
        for cls in type(self).__mro__:
            if issubclass(cls, RedisState):
                for attribute, script in cls.SCRIPTS.items():
                    setattr(self, attribute, client.register_script(script))

    @classmethod
    def from_url(cls, url: str, sealer: Sealer | None = None) -> Store:
        return cls(redis.Redis.from_url(url, decode_responses=True, health_check_interval=30), sealer)

    def ping(self) -> bool:
        try:
            return bool(self.r.ping())
        except redis.RedisError:
            return False
