"""The watcher's live index (reconciler/live writes it, polls and the dashboard read it): per
cluster, the tracked objects of each app and the objects under them, written only by the
watcher holding the cluster's lease (every write is fenced by its token)."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys

# A new token (from the fence counter) and the lease in one step, only if nobody holds it.
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
return token
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# The fencing check and the writes in one step: a watcher that lost its lease (paused, cut
# off) writes nothing after another took over. ARGV: token, then ops of 2-4 words each.
_FENCED_WRITE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local i = 2
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'hset' then redis.call('HSET', ARGV[i+1], ARGV[i+2], ARGV[i+3]); i = i + 4
  elseif op == 'hdel' then redis.call('HDEL', ARGV[i+1], ARGV[i+2]); i = i + 3
  elseif op == 'sadd' then redis.call('SADD', ARGV[i+1], ARGV[i+2]); i = i + 3
  elseif op == 'srem' then redis.call('SREM', ARGV[i+1], ARGV[i+2]); i = i + 3
  elseif op == 'del' then redis.call('DEL', ARGV[i+1]); i = i + 2
  else return redis.error_reply('live index: unknown op ' .. tostring(op)) end
end
return 1
"""

LIVE_POLL_MARK_SECONDS = 60.0  # a queued poll that never started (worker gone) stops coalescing after this

Op = tuple[str, ...]


def _apps_of(cluster: str, ops: Sequence[Op]) -> set[str]:
    """The apps whose tracked objects or tree the index writes touch."""
    prefixes = (Keys.live_app(cluster, ""), Keys.live_tree(cluster, ""))
    apps: set[str] = set()
    for op in ops:
        if op[0] in ("hset", "hdel", "del") and len(op) > 1:
            apps.update(op[1][len(p):] for p in prefixes if op[1].startswith(p))
    return apps


class LiveState(RedisState):
    SCRIPTS = {
        "_live_acquire": _ACQUIRE,
        "_live_renew": _RENEW,
        "_live_release": _RELEASE,
        "_live_write": _FENCED_WRITE,
    }

    def acquire_watch_lease(self, cluster: str, holder: str, ttl_seconds: float) -> str | None:
        """The fencing token when this holder now holds the cluster; None when another does."""
        token = self._live_acquire(keys=[Keys.live_lease(cluster), Keys.live_fence],
                                   args=[holder, int(ttl_seconds * 1000)])
        return str(token) if token else None

    def renew_watch_lease(self, cluster: str, token: str, ttl_seconds: float) -> bool:
        return bool(self._live_renew(keys=[Keys.live_lease(cluster)], args=[token, int(ttl_seconds * 1000)]))

    def release_watch_lease(self, cluster: str, token: str) -> bool:
        return bool(self._live_release(keys=[Keys.live_lease(cluster)], args=[token]))

    def watch_lease_holder(self, cluster: str) -> str | None:
        return self.r.get(Keys.live_lease(cluster))

    def write_live(self, cluster: str, token: str, ops: Sequence[Op]) -> bool:
        """Apply index writes if `token` still holds the cluster; False (nothing written) if not."""
        args: list[str] = [token]
        for op in ops:
            args.extend(op)
        written = bool(self._live_write(keys=[Keys.live_lease(cluster)], args=args))
        if written:  # the app's live objects changed: its open pages redraw their tree
            self.publish_app_events("tree", _apps_of(cluster, ops))  # type: ignore[attr-defined]
        return written

    def live_meta(self, cluster: str) -> dict[str, str]:
        return self.r.hgetall(Keys.live_meta(cluster))

    def live_objects(self, cluster: str, app: str) -> tuple[dict[str, str], dict[str, str]]:
        """(meta, tracked records) in one round trip, so a poll sees a consistent pair."""
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(Keys.live_meta(cluster))
        pipe.hgetall(Keys.live_app(cluster, app))
        meta, records = pipe.execute()
        return meta, records

    def live_tree(self, cluster: str, app: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        """(meta, tracked records, records of the objects under them)."""
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(Keys.live_meta(cluster))
        pipe.hgetall(Keys.live_app(cluster, app))
        pipe.hgetall(Keys.live_tree(cluster, app))
        meta, records, tree = pipe.execute()
        return meta, records, tree

    def live_namespace_names(self, cluster: str) -> set[str]:
        return set(self.r.smembers(Keys.live_namespaces(cluster)))

    def live_namespace_roots(self, cluster: str, namespace: str) -> tuple[dict[str, str], dict[str, str]]:
        """(meta, uid -> record of each top-level object no app tracks in `namespace`)."""
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(Keys.live_meta(cluster))
        pipe.hgetall(Keys.live_namespace(cluster, namespace))
        meta, roots = pipe.execute()
        return meta, roots

    def live_apps(self, cluster: str) -> set[str]:
        return set(self.r.smembers(Keys.live_apps(cluster)))

    def apps_with_status(self, names: set[str]) -> set[str]:
        """Those of `names` that have been polled at least once."""
        ordered = sorted(names)
        pipe = self.r.pipeline(transaction=False)
        for name in ordered:
            pipe.exists(Keys.status(name))
        return {name for name, found in zip(ordered, pipe.execute(), strict=True) if found}

    def mark_live_poll(self, app: str) -> bool:
        """True when no poll the watcher queued for `app` waits still: queue one."""
        return bool(self.r.set(Keys.live_poll(app), "1", nx=True, px=int(LIVE_POLL_MARK_SECONDS * 1000)))

    def clear_live_poll(self, app: str) -> None:
        """The poll started: a change from now on needs another one."""
        self.r.delete(Keys.live_poll(app))
