"""Every Redis key and script of the system, split by concern (keys.py documents the layout).

    store       Store: one object composed of the concerns below
    registry    registered apps and projects        schedule    poll schedule, deferred retries
    status      app status, self-heal attempts      history     sync history, inventories
    locks       sync locks, waiting sync requests   operations  sync operation state machines
    caches      render cache, shared ref listings   counters    telemetry counters
    webhooks    webhook coalescing and rate limit
    appsets     ApplicationSets: manifests, status, owned apps, schedule, lock; cluster Secrets
    access      login sessions, sign-ons in progress, project role tokens, audit counters
    embedded_redis, redis_server   the private redis-server of `reconciler up` and tests
"""

from reconciler.state.keys import PREFIX, RENDER_CACHE_TTL_SECONDS, Keys
from reconciler.state.store import Store

__all__ = ["PREFIX", "RENDER_CACHE_TTL_SECONDS", "Keys", "Store"]
