"""Typed access to the system's Redis state: one class composed of one slice per concern."""

from __future__ import annotations

import redis

from reconciler.settings import RedisSettings
from reconciler.state.access import AccessState
from reconciler.state.app_events import AppEventsState
from reconciler.state.appsets import AppSetsState
from reconciler.state.base import Durability, RedisState
from reconciler.state.caches import CachesState
from reconciler.state.connection import RedisEndpoint
from reconciler.state.counters import CountersState
from reconciler.state.deliveries import DeliveriesState
from reconciler.state.history import HistoryState
from reconciler.state.live import LiveState
from reconciler.state.locks import LocksState
from reconciler.state.log_follows import LogFollowsState
from reconciler.state.notifications import NotificationsState
from reconciler.state.operations import OperationsState
from reconciler.state.previews import PreviewsState
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
    LogFollowsState,
    AppSetsState,
    NotificationsState,
    AccessState,
    DeliveriesState,
    AppEventsState,
    PreviewsState,
):
    """Typed access to the system's Redis state. Holds a client; owns no other resources."""

    def __init__(self, client: redis.Redis, sealer: Sealer | None = None, durability: Durability | None = None) -> None:
        self.r = client
        self.durability = durability or Durability()
        # Seals Secrets in operation records and cached renders (reconciler/state/sealing.py).
        self.sealer = sealer or Sealer.from_env()
        registered: dict[str, str] = {}
        for cls in type(self).__mro__:
            if issubclass(cls, RedisState):
                for attribute, script in cls.SCRIPTS.items():
                    # Two slices naming a script alike would silently run one another's script.
                    if registered.setdefault(attribute, script) != script:
                        raise TypeError(f"two Store slices register a script named {attribute!r}")
                    setattr(self, attribute, client.register_script(script))

    @classmethod
    def from_url(cls, url: str, sealer: Sealer | None = None) -> Store:
        """A store on one Redis (tests, benchmarks, tools); processes use `connect`."""
        return cls.connect(RedisEndpoint(RedisSettings(), url=url), sealer)

    @classmethod
    def connect(cls, endpoint: RedisEndpoint, sealer: Sealer | None = None) -> Store:
        """The store of a process, on the client reconciler/state/connection.py builds (Sentinel
        or one Redis, retries across a failover), waiting for replicas as configured."""
        config = endpoint.config
        return cls(endpoint.client(), sealer, Durability(config.wait_replicas, config.wait_timeout))

    def ping(self) -> bool:
        try:
            return bool(self.r.ping())
        except redis.RedisError:
            return False
