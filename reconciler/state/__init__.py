"""Every Redis key of the system, in one place.

Layout (all keys start with `rc:`):

| key | type | holds |
| --- | --- | --- |
| `rc:apps` | hash | app name -> Application manifest (JSON) |
| `rc:projects` | hash | project name -> AppProject manifest (JSON) |
| `rc:app-parent` | hash | child app name -> parent app name (app-of-apps) |
| `rc:schedule` | sorted set | app name scored by its next poll time (unix seconds) |
| `rc:poll-interval` | hash | app name -> its own poll interval, when it has one |
| `rc:status:{app}` | string | status JSON; written only forwards (by `observedAt`) |
| `rc:history:{app}` | list | history entries (JSON), oldest first, capped |
| `rc:history-seq:{app}` | counter | last history id given out |
| `rc:inventory:{app}` | hash | resource key -> object reference (JSON) |
| `rc:lock:{app}` | string | the sync lock: the token of the operation holding it |
| `rc:pending:{app}` | string | a sync request that arrived while the app was locked |
| `rc:queued:{app}` | string | set while a sync request waits in the queue (coalescing) |
| `rc:op:{id}` | string | a sync operation's state machine (JSON) |
| `rc:opstate:{app}` | string | the app's latest sync operation as users see it (JSON) |
| `rc:failed:{app}` | string | revision+source the automated path last failed on |
| `rc:deferred` | sorted set | sync requests (JSON) scored by when they may run (retries) |
| `rc:render:{key}` | string | cached render output (JSON), expires |
| `rc:refs:{repo}` | string | a repository's `git ls-remote` output, shared by all workers, expires |
| `rc:selfheal:{app}` | hash | self-heal attempt count and time |
| `rc:webhook-poll:{app}` | string | when a webhook's fresh poll of the app was queued (coalescing), expires |
| `rc:webhook-rate:{source}` | counter | webhook requests from one client address this minute, expires |
| `rc:metrics:syncs` | hash | JSON `[app, phase]` -> finished sync operations (counter) |
| `rc:metrics:reconcile` | hash | `le:{bound}` -> polls that took up to that bound (not cumulative); `sum` -> seconds |
| `rc:metrics:git` | hash | JSON `[request type, repo, calls/failures/seconds]` -> running total |
| `rc:metrics:webhooks` | hash | JSON `[provider, result]` -> webhook requests (counter) |
| `rc:metrics:k8s` | hash | JSON `[verb, HTTP code]` -> Kubernetes API requests (counter) |

Values are JSON so any process (worker, beat, API) reads what another wrote.
"""

from __future__ import annotations

import base64
import json
import time
import zlib
from typing import Any

import redis

PREFIX = "rc"
RENDER_CACHE_TTL_SECONDS = 24 * 3600


class Keys:
    apps = f"{PREFIX}:apps"
    projects = f"{PREFIX}:projects"
    parents = f"{PREFIX}:app-parent"
    schedule = f"{PREFIX}:schedule"
    poll_interval = f"{PREFIX}:poll-interval"

    @staticmethod
    def status(app: str) -> str:
        return f"{PREFIX}:status:{app}"

    @staticmethod
    def history(app: str) -> str:
        return f"{PREFIX}:history:{app}"

    @staticmethod
    def history_seq(app: str) -> str:
        return f"{PREFIX}:history-seq:{app}"

    @staticmethod
    def inventory(app: str) -> str:
        return f"{PREFIX}:inventory:{app}"

    @staticmethod
    def lock(app: str) -> str:
        return f"{PREFIX}:lock:{app}"

    @staticmethod
    def pending(app: str) -> str:
        return f"{PREFIX}:pending:{app}"

    @staticmethod
    def queued(app: str) -> str:
        return f"{PREFIX}:queued:{app}"

    @staticmethod
    def operation(op_id: str) -> str:
        return f"{PREFIX}:op:{op_id}"

    deferred = f"{PREFIX}:deferred"

    @staticmethod
    def operation_state(app: str) -> str:
        return f"{PREFIX}:opstate:{app}"

    @staticmethod
    def failed(app: str) -> str:
        return f"{PREFIX}:failed:{app}"

    @staticmethod
    def refs(repo_key: str) -> str:
        return f"{PREFIX}:refs:{repo_key}"

    @staticmethod
    def render(cache_key: str) -> str:
        return f"{PREFIX}:render:{cache_key}"

    @staticmethod
    def self_heal(app: str) -> str:
        return f"{PREFIX}:selfheal:{app}"

    # Telemetry (reconciler/telemetry.py writes, reconciler/metrics.py reads). Not per app:
    # a deleted app's counters stay, and /metrics shows only registered apps' series.
    metrics_syncs = f"{PREFIX}:metrics:syncs"
    metrics_reconcile = f"{PREFIX}:metrics:reconcile"
    metrics_git = f"{PREFIX}:metrics:git"
    metrics_webhooks = f"{PREFIX}:metrics:webhooks"
    metrics_k8s = f"{PREFIX}:metrics:k8s"

    @staticmethod
    def webhook_poll(app: str) -> str:
        return f"{PREFIX}:webhook-poll:{app}"

    @staticmethod
    def webhook_rate(source: str) -> str:
        return f"{PREFIX}:webhook-rate:{source}"

    @classmethod
    def per_app(cls, app: str) -> list[str]:
        return [
            cls.status(app),
            cls.history(app),
            cls.history_seq(app),
            cls.inventory(app),
            cls.pending(app),
            cls.queued(app),
            cls.self_heal(app),
            cls.operation_state(app),
            cls.failed(app),
            cls.webhook_poll(app),
        ]


# Status only moves forwards: a slow poll that started before a newer one finished must
# not overwrite the newer result (tasks are redelivered and can run late).
_WRITE_STATUS_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and decoded['observedAt'] and tonumber(decoded['observedAt']) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""

_RENEW_IF_HOLDER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE_IF_HOLDER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# Claim due apps atomically, so two beat processes never both enqueue the same poll.
# Each claimed app is rescheduled at now + its interval, stretched by up to `jitter` of
# the interval (a hash of name and time, since Lua here has no usable randomness), which
# keeps 10,000 apps from converging on the same second.
_CLAIM_DUE = """
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local default_interval = tonumber(ARGV[3])
local jitter = tonumber(ARGV[4])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, name in ipairs(due) do
  local interval = tonumber(redis.call('HGET', KEYS[2], name) or default_interval)
  local spread = tonumber(string.sub(redis.sha1hex(name .. ARGV[1]), 1, 6), 16) / 16777215
  redis.call('ZADD', KEYS[1], now + interval * (1 + jitter * spread), name)
end
return due
"""

_CLAIM_DEFERRED = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
end
return due
"""

# A webhook's fresh poll is queued unless one is already waiting: the marker holds when
# the waiting poll was queued, and a status observed since then (the poll started after
# it) means that poll ran, so a later push needs a poll of its own.
_CLAIM_WEBHOOK_POLL = """
local queued = redis.call('GET', KEYS[1])
if queued then
  local status = redis.call('GET', KEYS[2])
  local observed = 0
  if status then
    local ok, decoded = pcall(cjson.decode, status)
    if ok and decoded['observedAt'] then observed = tonumber(decoded['observedAt']) or 0 end
  end
  if observed < tonumber(queued) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# Advance an operation's state machine from one step to the next, once.
_ADVANCE_OPERATION = """
local current = redis.call('GET', KEYS[1])
if not current then return -1 end
local state = cjson.decode(current)
if tonumber(state['step']) ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
"""


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class Store:
    """Typed access to the system's Redis state. Holds a client; owns no other resources."""

    def __init__(self, client: redis.Redis) -> None:
        self.r = client
        self._write_status = client.register_script(_WRITE_STATUS_IF_NEWER)
        self._renew = client.register_script(_RENEW_IF_HOLDER)
        self._release = client.register_script(_RELEASE_IF_HOLDER)
        self._claim = client.register_script(_CLAIM_DUE)
        self._advance = client.register_script(_ADVANCE_OPERATION)
        self._claim_deferred = client.register_script(_CLAIM_DEFERRED)
        self._claim_webhook_poll = client.register_script(_CLAIM_WEBHOOK_POLL)

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(redis.Redis.from_url(url, decode_responses=True, health_check_interval=30))

    def ping(self) -> bool:
        try:
            return bool(self.r.ping())
        except redis.RedisError:
            return False

    # registry ------------------------------------------------------------------------

    def put_app(self, name: str, manifest: dict[str, Any], parent: str | None = None) -> bool:
        """Register or update an app; True when it is new."""
        with self.r.pipeline() as pipe:
            pipe.hset(Keys.apps, name, _dumps(manifest))
            if parent:
                pipe.hset(Keys.parents, name, parent)
            created = pipe.execute()[0]
        return bool(created)

    def app_manifest(self, name: str) -> dict[str, Any] | None:
        raw = self.r.hget(Keys.apps, name)
        return json.loads(raw) if raw else None

    def app_manifests(self) -> dict[str, dict[str, Any]]:
        return {name: json.loads(raw) for name, raw in self.r.hgetall(Keys.apps).items()}

    def app_names(self) -> list[str]:
        return sorted(self.r.hkeys(Keys.apps))

    def parent_of(self, name: str) -> str | None:
        return self.r.hget(Keys.parents, name)

    def children_of(self, parent: str) -> list[str]:
        return sorted(child for child, p in self.r.hgetall(Keys.parents).items() if p == parent)

    def delete_app(self, name: str) -> bool:
        """Forget an app and all of its state; True when it existed."""
        with self.r.pipeline() as pipe:
            pipe.hdel(Keys.apps, name)
            pipe.hdel(Keys.parents, name)
            pipe.zrem(Keys.schedule, name)
            pipe.hdel(Keys.poll_interval, name)
            pipe.delete(*Keys.per_app(name))
            existed = pipe.execute()[0]
        return bool(existed)

    def put_project(self, name: str, manifest: dict[str, Any]) -> bool:
        return bool(self.r.hset(Keys.projects, name, _dumps(manifest)))

    def project_manifest(self, name: str) -> dict[str, Any] | None:
        raw = self.r.hget(Keys.projects, name)
        return json.loads(raw) if raw else None

    # poll schedule -------------------------------------------------------------------

    def schedule_poll(self, name: str, at: float, interval: float | None = None) -> None:
        """Set when an app polls next; `interval` overrides the global one for this app."""
        with self.r.pipeline() as pipe:
            pipe.zadd(Keys.schedule, {name: at})
            if interval:
                pipe.hset(Keys.poll_interval, name, interval)
            else:
                pipe.hdel(Keys.poll_interval, name)
            pipe.execute()

    def poll_soon(self, name: str, at: float) -> None:
        """Move the app's next poll earlier to `at` (never later), e.g. while it is Progressing."""
        self.r.zadd(Keys.schedule, {name: at}, lt=True)

    def next_poll(self, name: str) -> float | None:
        score = self.r.zscore(Keys.schedule, name)
        return float(score) if score is not None else None

    def claim_due_polls(
        self, now: float, default_interval: float, limit: int = 500, jitter: float = 0.1
    ) -> list[str]:
        due = self._claim(
            keys=[Keys.schedule, Keys.poll_interval], args=[f"{now:.3f}", limit, default_interval, jitter]
        )
        return list(due)

    # status --------------------------------------------------------------------------

    def write_status(self, name: str, status: dict[str, Any]) -> bool:
        """Store an app's status unless a newer one is there (compared by `observedAt`)."""
        observed = float(status.setdefault("observedAt", time.time()))
        return bool(self._write_status(keys=[Keys.status(name)], args=[_dumps(status), f"{observed:.6f}"]))

    def status(self, name: str) -> dict[str, Any] | None:
        raw = self.r.get(Keys.status(name))
        return json.loads(raw) if raw else None

    def statuses(self, names: list[str]) -> dict[str, dict[str, Any] | None]:
        if not names:
            return {}
        raws = self.r.mget([Keys.status(n) for n in names])
        return {n: (json.loads(raw) if raw else None) for n, raw in zip(names, raws, strict=True)}

    # history -------------------------------------------------------------------------

    def append_history(self, name: str, entry: dict[str, Any], limit: int) -> int:
        """Append a history entry with the next id, keep the newest `limit`; returns the id."""
        entry_id = int(self.r.incr(Keys.history_seq(name)))
        with self.r.pipeline() as pipe:
            pipe.rpush(Keys.history(name), _dumps({**entry, "id": entry_id}))
            pipe.ltrim(Keys.history(name), -max(limit, 1), -1)
            pipe.execute()
        return entry_id

    def history(self, name: str) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.r.lrange(Keys.history(name), 0, -1)]

    # inventory -----------------------------------------------------------------------

    def inventory(self, name: str) -> dict[str, dict[str, Any]]:
        return {k: json.loads(v) for k, v in self.r.hgetall(Keys.inventory(name)).items()}

    def add_to_inventory(self, name: str, entries: dict[str, dict[str, Any]]) -> None:
        if entries:
            self.r.hset(Keys.inventory(name), mapping={k: _dumps(v) for k, v in entries.items()})

    def remove_from_inventory(self, name: str, resource_keys: list[str]) -> None:
        if resource_keys:
            self.r.hdel(Keys.inventory(name), *resource_keys)

    # render cache --------------------------------------------------------------------

    def cached_render(self, cache_key: str) -> list[dict[str, Any]] | None:
        raw = self.r.get(Keys.render(cache_key))
        if raw is None:
            return None
        return json.loads(zlib.decompress(base64.b64decode(raw)))

    def cache_render(self, cache_key: str, objects: list[dict[str, Any]]) -> None:
        # Compressed because a render is mostly repeated keys; base64 because the client
        # decodes responses as text.
        packed = base64.b64encode(zlib.compress(_dumps(objects).encode(), level=3)).decode()
        self.r.set(Keys.render(cache_key), packed, ex=RENDER_CACHE_TTL_SECONDS)

    # shared git ref listings -------------------------------------------------------

    def cached_refs(self, repo_key: str) -> tuple[str, float] | None:
        with self.r.pipeline() as pipe:
            pipe.get(Keys.refs(repo_key))
            pipe.pttl(Keys.refs(repo_key))
            text, pttl = pipe.execute()
        if text is None or pttl is None or int(pttl) <= 0:
            return None
        return str(text), int(pttl) / 1000

    def cache_refs(self, repo_key: str, output: str, ttl_seconds: float) -> None:
        self.r.set(Keys.refs(repo_key), output, px=max(int(ttl_seconds * 1000), 1))

    # locks ---------------------------------------------------------------------------

    def acquire_lock(self, name: str, token: str, ttl_seconds: float) -> bool:
        return bool(self.r.set(Keys.lock(name), token, nx=True, px=int(ttl_seconds * 1000)))

    def renew_lock(self, name: str, token: str, ttl_seconds: float) -> bool:
        """Extend the lock if `token` still holds it: the fencing check before a cluster write."""
        return bool(self._renew(keys=[Keys.lock(name)], args=[token, int(ttl_seconds * 1000)]))

    def release_lock(self, name: str, token: str) -> bool:
        return bool(self._release(keys=[Keys.lock(name)], args=[token]))

    def lock_holder(self, name: str) -> str | None:
        return self.r.get(Keys.lock(name))

    # sync requests -------------------------------------------------------------------

    def remember_pending_sync(self, name: str, request: dict[str, Any]) -> None:
        """Keep the latest sync request for a locked app; it runs when the lock is released."""
        self.r.set(Keys.pending(name), _dumps(request))

    def take_pending_sync(self, name: str) -> dict[str, Any] | None:
        raw = self.r.getdel(Keys.pending(name))
        return json.loads(raw) if raw else None

    def take_orphaned_pending_syncs(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Remembered sync requests whose app no sync holds: the operation that should have run
        them died and its lock expired. Each is taken, so only one caller gets it."""
        taken: list[dict[str, Any]] = []
        for key in self.r.scan_iter(match=Keys.pending("*"), count=1000):
            name = key.split(":", 2)[2]
            if self.lock_holder(name) is None and (request := self.take_pending_sync(name)):
                taken.append(request)
            if len(taken) >= limit:
                break
        return taken

    def mark_queued(self, name: str, ttl_seconds: float) -> bool:
        """True for the first request in a burst; later ones coalesce into it."""
        return bool(self.r.set(Keys.queued(name), "1", nx=True, px=int(ttl_seconds * 1000)))

    def clear_queued(self, name: str) -> None:
        self.r.delete(Keys.queued(name))

    # operations ----------------------------------------------------------------------

    def put_operation(self, op_id: str, state: dict[str, Any], ttl_seconds: float) -> None:
        self.r.set(Keys.operation(op_id), _dumps(state), ex=int(ttl_seconds))

    def operation(self, op_id: str) -> dict[str, Any] | None:
        raw = self.r.get(Keys.operation(op_id))
        return json.loads(raw) if raw else None

    def advance_operation(self, op_id: str, from_step: int, state: dict[str, Any]) -> bool:
        """Write `state` only if the operation is still at `from_step`: one task advances it."""
        return int(self._advance(keys=[Keys.operation(op_id)], args=[from_step, _dumps(state)])) == 1

    def put_operation_state(self, name: str, state: dict[str, Any]) -> None:
        self.r.set(Keys.operation_state(name), _dumps(state))

    def operation_state(self, name: str) -> dict[str, Any] | None:
        raw = self.r.get(Keys.operation_state(name))
        return json.loads(raw) if raw else None

    def mark_failed(self, name: str, marker: str) -> None:
        self.r.set(Keys.failed(name), marker)

    def failed_marker(self, name: str) -> str | None:
        return self.r.get(Keys.failed(name))

    def clear_failed(self, name: str) -> None:
        self.r.delete(Keys.failed(name))

    # deferred sync requests (retries with backoff) ----------------------------------

    def defer(self, request: dict[str, Any], at: float) -> None:
        self.r.zadd(Keys.deferred, {_dumps(request): at})

    def claim_deferred(self, now: float, limit: int = 100) -> list[dict[str, Any]]:
        """Due requests, each handed to exactly one caller."""
        return [json.loads(m) for m in self._claim_deferred(keys=[Keys.deferred], args=[f"{now:.3f}", limit])]

    def deferred(self) -> list[tuple[dict[str, Any], float]]:
        return [(json.loads(m), float(score)) for m, score in self.r.zrange(Keys.deferred, 0, -1, withscores=True)]

    # self-heal -----------------------------------------------------------------------

    def self_heal_state(self, name: str) -> tuple[int, float]:
        raw = self.r.hgetall(Keys.self_heal(name))
        return int(raw.get("attempts", 0)), float(raw.get("at", 0.0))

    def record_self_heal(self, name: str, at: float) -> int:
        with self.r.pipeline() as pipe:
            pipe.hincrby(Keys.self_heal(name), "attempts", 1)
            pipe.hset(Keys.self_heal(name), "at", at)
            attempts = pipe.execute()[0]
        return int(attempts)

    def reset_self_heal(self, name: str) -> None:
        self.r.delete(Keys.self_heal(name))

    # telemetry -----------------------------------------------------------------------

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

    def operation_states(self, names: list[str]) -> dict[str, dict[str, Any] | None]:
        if not names:
            return {}
        raws = self.r.mget([Keys.operation_state(n) for n in names])
        return {n: (json.loads(raw) if raw else None) for n, raw in zip(names, raws, strict=True)}

    def deferred_count(self) -> int:
        return int(self.r.zcard(Keys.deferred))

    # webhooks ------------------------------------------------------------------------

    def claim_webhook_poll(self, name: str, now: float, ttl_seconds: float) -> bool:
        """True when the caller should queue a fresh poll of `name`; False when one queued
        earlier has not run yet and will see this push too (a burst coalesces into it)."""
        args = [f"{now:.6f}", int(ttl_seconds * 1000)]
        return bool(self._claim_webhook_poll(keys=[Keys.webhook_poll(name), Keys.status(name)], args=args))

    def clear_webhook_poll(self, name: str) -> None:
        """The queued fresh poll has started: a push from now on needs another one."""
        self.r.delete(Keys.webhook_poll(name))

    def count_webhook_request(self, source: str, window_seconds: int = 60) -> tuple[int, float]:
        """Count one webhook request from `source` in the current fixed window; returns
        (requests in the window so far, seconds until the window ends)."""
        key = Keys.webhook_rate(source)
        with self.r.pipeline() as pipe:  # MULTI: the window always gets its expiry
            pipe.set(key, 0, ex=window_seconds, nx=True)
            pipe.incr(key)
            pipe.pttl(key)
            _, count, ttl_ms = pipe.execute()
        return int(count), max(float(ttl_ms), 0.0) / 1000
