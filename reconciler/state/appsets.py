"""Registered ApplicationSets: their manifests, status, which apps each owns, when each is
generated next, the lock that lets one worker at a time generate a set, and registered
clusters (Argo CD cluster Secrets, sealed at rest)."""

from __future__ import annotations

import json
from typing import Any

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys, dumps

# Claim due sets atomically (two beats never both send one) and push each claimed set a
# lease ahead, so a generation whose task is lost runs again after the lease; the task sets
# the real next time when it ends.
_CLAIM_DUE_APPSETS = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, name in ipairs(due) do
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[3]), name)
end
return due
"""

_RELEASE_IF_HELD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class AppSetsState(RedisState):
    SCRIPTS = {"_claim_appsets": _CLAIM_DUE_APPSETS, "_release_appset": _RELEASE_IF_HELD}

    # --- manifests --------------------------------------------------------------------

    def put_appset(self, name: str, manifest: dict[str, Any]) -> bool:
        """Register or update a set; True when it is new."""
        return bool(self.r.hset(Keys.appsets, name, dumps(manifest)))

    def appset_manifest(self, name: str) -> dict[str, Any] | None:
        raw = self.r.hget(Keys.appsets, name)
        return json.loads(raw) if raw else None

    def appset_manifests(self) -> dict[str, dict[str, Any]]:
        return {name: json.loads(raw) for name, raw in self.r.hgetall(Keys.appsets).items()}

    def delete_appset(self, name: str) -> bool:
        with self.r.pipeline() as pipe:
            pipe.hdel(Keys.appsets, name)
            pipe.hdel(Keys.appset_parents, name)
            pipe.zrem(Keys.appset_schedule, name)
            pipe.delete(Keys.appset_status(name), Keys.appset_again(name), Keys.appset_queued(name))
            existed = pipe.execute()[0]
        return bool(existed)

    def set_appset_parent(self, name: str, parent: str) -> None:
        """The app-of-apps parent that registered the set (its prune deletes the set)."""
        self.r.hset(Keys.appset_parents, name, parent)

    def appset_parent(self, name: str) -> str | None:
        return self.r.hget(Keys.appset_parents, name)

    def appsets_of_parent(self, parent: str) -> list[str]:
        return sorted(name for name, p in self.r.hgetall(Keys.appset_parents).items() if p == parent)

    # --- ownership (generated apps carry the owner link) ------------------------------------

    def set_app_owner(self, app: str, appset: str) -> None:
        self.r.hset(Keys.appset_owner, app, appset)

    def owner_of(self, app: str) -> str | None:
        return self.r.hget(Keys.appset_owner, app)

    def apps_owned_by(self, appset: str) -> list[str]:
        return sorted(app for app, owner in self.r.hgetall(Keys.appset_owner).items() if owner == appset)

    def clear_app_owner(self, app: str) -> None:
        self.r.hdel(Keys.appset_owner, app)

    # --- status -----------------------------------------------------------------------

    def write_appset_status(self, name: str, status: dict[str, Any]) -> None:
        self.r.set(Keys.appset_status(name), dumps(status))

    def appset_status(self, name: str) -> dict[str, Any] | None:
        raw = self.r.get(Keys.appset_status(name))
        return json.loads(raw) if raw else None

    # --- when each set is generated -------------------------------------------------------

    def schedule_appset(self, name: str, at: float, *, sooner_only: bool = False) -> None:
        self.r.zadd(Keys.appset_schedule, {name: at}, lt=sooner_only)

    def next_generation(self, name: str) -> float | None:
        score = self.r.zscore(Keys.appset_schedule, name)
        return float(score) if score is not None else None

    def claim_due_appsets(self, now: float, lease_seconds: float, limit: int = 100) -> list[str]:
        return list(self._claim_appsets(keys=[Keys.appset_schedule], args=[f"{now:.3f}", limit, lease_seconds]))

    # --- one worker per set --------------------------------------------------------------

    def acquire_appset_lock(self, name: str, token: str, ttl_seconds: float) -> bool:
        return bool(self.r.set(Keys.appset_lock(name), token, nx=True, px=int(ttl_seconds * 1000)))

    def release_appset_lock(self, name: str, token: str) -> None:
        self._release_appset(keys=[Keys.appset_lock(name)], args=[token])

    def ask_again(self, name: str, ttl_seconds: float) -> None:
        """A run was asked for while another held the set: that one runs again when it ends."""
        self.r.set(Keys.appset_again(name), "1", px=int(ttl_seconds * 1000))

    def take_again(self, name: str) -> bool:
        return bool(self.r.delete(Keys.appset_again(name)))

    def mark_appset_queued(self, name: str, ttl_seconds: float) -> bool:
        """True when no generation of the set waits in the queue yet (webhook pushes coalesce)."""
        return bool(self.r.set(Keys.appset_queued(name), "1", nx=True, px=int(ttl_seconds * 1000)))

    def clear_appset_queued(self, name: str) -> None:
        self.r.delete(Keys.appset_queued(name))

    # --- clusters ---------------------------------------------------------------------

    def put_cluster(self, name: str, secret_manifest: dict[str, Any]) -> bool:
        """Register a cluster Secret by its cluster name; the Secret (its config holds
        credentials) is sealed before it is written."""
        return bool(self.r.hset(Keys.clusters, name, dumps(self.sealer.seal(secret_manifest))))

    def cluster_manifests(self) -> dict[str, dict[str, Any]]:
        return {name: self.sealer.unseal(json.loads(raw)) for name, raw in self.r.hgetall(Keys.clusters).items()}

    def delete_cluster(self, name: str) -> bool:
        return bool(self.r.hdel(Keys.clusters, name))
