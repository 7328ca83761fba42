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
# off) writes nothing after another took over. ARGV: token, then commands of the form
# `name key n item...` (n items; an hset's are field, value pairs), one per key and name
# (`_commands`): a batch of 2,000 index changes is a few hundred commands, not 4,000.
_FENCED_WRITE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local names = {hset = 'HSET', hdel = 'HDEL', sadd = 'SADD', srem = 'SREM', del = 'DEL'}
local i = 2
while i <= #ARGV do
  local name = names[ARGV[i]]
  if not name then return redis.error_reply('live index: unknown op ' .. tostring(ARGV[i])) end
  local key, n = ARGV[i+1], tonumber(ARGV[i+2])
  if name == 'DEL' then
    redis.call('DEL', key)
  else
    -- in chunks: unpack() of too many values overflows Lua's stack
    local first, last = i + 3, i + 2 + n
    while first <= last do
      local upto = math.min(first + 999, last)
      redis.call(name, key, unpack(ARGV, first, upto))
      first = upto + 1
    end
  end
  i = i + 3 + n
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


class _KeyWrites:
    """What a batch of index writes leaves in one key: deleted first or not, then fields or
    members set and removed (the last write of each wins, as when run one by one)."""

    def __init__(self) -> None:
        self.deleted = False
        self.hset: dict[str, str] = {}
        self.hdel: set[str] = set()
        self.sadd: set[str] = set()
        self.srem: set[str] = set()

    def _forget(self) -> None:
        """The key is deleted: what the batch wrote to it before is gone with it."""
        self.hset, self.hdel, self.sadd, self.srem = {}, set(), set(), set()
        self.deleted = True

    def add(self, op: Op) -> None:
        name, item = op[0], op[2] if len(op) > 2 else ""
        if name == "del":
            self._forget()
        elif name == "hset":
            self.hset[item] = op[3]
            self.hdel.discard(item)
        elif name == "hdel":
            self.hset.pop(item, None)
            self.hdel.add(item)
        elif name == "sadd":
            self.sadd.add(item)
            self.srem.discard(item)
        elif name == "srem":
            self.sadd.discard(item)
            self.srem.add(item)
        else:
            raise ValueError(f"live index: unknown op {name!r}")

    def args(self, key: str) -> list[str]:
        out: list[str] = ["del", key, "0"] if self.deleted else []
        for name, items in (("hdel", sorted(self.hdel)), ("srem", sorted(self.srem)), ("sadd", sorted(self.sadd))):
            if items:
                out += [name, key, str(len(items)), *items]
        if self.hset:
            out += ["hset", key, str(2 * len(self.hset))]
            for field, value in self.hset.items():
                out += [field, value]
        return out


def _commands(ops: Sequence[Op]) -> list[str]:
    """The script's arguments for `ops`: one command per key and kind of change."""
    by_key: dict[str, _KeyWrites] = {}
    for op in ops:
        by_key.setdefault(op[1], _KeyWrites()).add(op)
    args: list[str] = []
    for key, writes in by_key.items():
        args += writes.args(key)
    return args


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
        written = bool(self._live_write(keys=[Keys.live_lease(cluster)], args=[token, *_commands(ops)]))
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

    def live_app_records(self, cluster: str, app: str) -> dict[str, str]:
        """The app's tracked records (a reader that holds the meta already)."""
        return self.r.hgetall(Keys.live_app(cluster, app))

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
