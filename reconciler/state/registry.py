"""Registered Applications and AppProjects, and who registered each (its owner).

An owner is `api` (the REST API), `cli` (`reconciler app create` straight to Redis) or
`parent:<app>` (an app-of-apps parent's sync). A parent may only write what it owns or what
nobody registered yet (`claim_app`, `claim_project`, atomic in Redis), so a Git writer of one
app cannot take over an app or project an admin or another parent registered. Registrations
from before owners were recorded have none: they belong to no parent.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.core.errors import InputError
from reconciler.state.app_events import APP_EVENTS_KEPT
from reconciler.state.base import RedisState
from reconciler.state.keys import Keys, dumps

PARENT_OWNER_PREFIX = "parent:"

# Write the manifest (ARGV[3]) and the owner (ARGV[2]) of ARGV[1] only when that owner holds it
# already or nothing is registered under the name: 1 when updated, 2 when new; otherwise the
# current owner ("" for a registration that has none recorded).
_CLAIM_REGISTRATION = """
local registered = redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1
local owner = redis.call('HGET', KEYS[2], ARGV[1])
if owner then
  if owner ~= ARGV[2] then return owner end
elseif registered then
  return ''
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if registered then return 1 end
return 2
"""


# Name -> its owner ("" when registered without one recorded), None when not registered.
Owners = dict[str, str | None]


def parent_owner(parent: str) -> str:
    return f"{PARENT_OWNER_PREFIX}{parent}"


class OwnedElsewhere(InputError):
    """A parent tried to register an app or project someone else owns; nothing was written."""

    def __init__(self, kind: str, name: str, owner: str) -> None:
        super().__init__(f"{kind} {name!r} is registered by {owner or 'an unrecorded owner'}")
        self.kind, self.name, self.owner = kind, name, owner


class RegistryState(RedisState):
    SCRIPTS = {"_claim_registration": _CLAIM_REGISTRATION}

    def put_app(self, name: str, manifest: dict[str, Any], parent: str | None = None, owner: str = "") -> bool:
        """Register or update an app for `owner` (`parent` given: `parent:<parent>`), whoever
        owned it before; True when it is new. Without an owner, the one recorded stays."""
        return self._put(Keys.apps, Keys.app_owners, name, manifest, parent_owner(parent) if parent else owner)

    def _put(self, hash_key: str, owners_key: str, name: str, manifest: dict[str, Any], owner: str) -> bool:
        def write(pipe: Any) -> None:
            pipe.hset(hash_key, name, dumps(manifest))
            if owner:
                pipe.hset(owners_key, name, owner)
            if hash_key == Keys.apps:  # the list row shows the manifest's fields
                pipe.xadd(Keys.app_events, {"type": "status", "app": name}, maxlen=APP_EVENTS_KEPT, approximate=True)

        return bool(self._durably(write)[0])

    def claim_app(self, name: str, manifest: dict[str, Any], parent: str) -> bool:
        """Register or update `name` for the app-of-apps `parent`, only when the parent owns it
        or nobody registered it; True when it is new. Raises OwnedElsewhere otherwise."""
        return self._claim_for("application", Keys.apps, Keys.app_owners, name, manifest, parent)

    def _claim_for(self, kind: str, hash_key: str, owners_key: str, name: str, manifest: dict[str, Any],
                   parent: str) -> bool:
        args = [name, parent_owner(parent), dumps(manifest)]
        answer = self._claim_registration(keys=[hash_key, owners_key], args=args)
        if answer in (1, 2):
            if hash_key == Keys.apps:
                self.publish_app_events("status", [name])  # type: ignore[attr-defined]
            return answer == 2
        raise OwnedElsewhere(kind, name, str(answer))

    def app_owner(self, name: str) -> str:
        """Who registered the app (`api`, `cli`, `parent:<app>`); "" when not recorded."""
        return str(self.r.hget(Keys.app_owners, name) or "")

    def app_manifest(self, name: str) -> dict[str, Any] | None:
        raw = self.r.hget(Keys.apps, name)
        return json.loads(raw) if raw else None

    def app_manifests(self) -> dict[str, dict[str, Any]]:
        return {name: json.loads(raw) for name, raw in self.r.hgetall(Keys.apps).items()}

    def app_count(self) -> int:
        return int(self.r.hlen(Keys.apps))

    def app_names(self) -> list[str]:
        return sorted(self.r.hkeys(Keys.apps))

    def parent_of(self, name: str) -> str | None:
        """The app-of-apps parent that owns `name`, if one does."""
        owner = self.app_owner(name)
        return owner.removeprefix(PARENT_OWNER_PREFIX) if owner.startswith(PARENT_OWNER_PREFIX) else None

    def children_of(self, parent: str) -> list[str]:
        """The apps `parent` registered and still owns (an admin's re-registration takes one over)."""
        owner = parent_owner(parent)
        return sorted(child for child, o in self.r.hgetall(Keys.app_owners).items() if o == owner)

    def delete_app(self, name: str) -> bool:
        """Forget an app and all of its state; True when it existed."""
        with self.r.pipeline() as pipe:
            pipe.hdel(Keys.apps, name)
            pipe.hdel(Keys.app_owners, name)
            pipe.hdel(Keys.legacy_parents, name)
            pipe.hdel(Keys.appset_owner, name)
            pipe.zrem(Keys.schedule, name)
            pipe.hdel(Keys.poll_interval, name)
            pipe.delete(*Keys.per_app(name))
            pipe.hdel(Keys.app_rows, name)
            pipe.xadd(Keys.app_events, {"type": "deleted", "app": name}, maxlen=APP_EVENTS_KEPT, approximate=True)
            existed = pipe.execute()[0]
        return bool(existed)

    def put_project(self, name: str, manifest: dict[str, Any], owner: str = "") -> bool:
        """Register or update a project for `owner`, whoever owned it before (as put_app)."""
        return self._put(Keys.projects, Keys.project_owners, name, manifest, owner)

    def claim_project(self, name: str, manifest: dict[str, Any], parent: str) -> bool:
        """`claim_app` for an AppProject rendered by `parent`."""
        return self._claim_for("project", Keys.projects, Keys.project_owners, name, manifest, parent)

    def registrations(self, apps: list[str], projects: list[str]) -> tuple[Owners, Owners]:
        """For each app and project name: its owner ("" when registered without one recorded),
        or None when nothing is registered under it. One round trip."""
        with self.r.pipeline(transaction=False) as pipe:
            for hash_key, owners_key, names in ((Keys.apps, Keys.app_owners, apps),
                                                (Keys.projects, Keys.project_owners, projects)):
                for name in names:
                    pipe.hexists(hash_key, name)
                    pipe.hget(owners_key, name)
            answers = pipe.execute()
        found: list[Owners] = [{}, {}]
        position = 0
        for index, names in enumerate((apps, projects)):
            for name in names:
                registered, owner = answers[position], answers[position + 1]
                position += 2
                found[index][name] = (owner or "") if registered or owner else None
        return found[0], found[1]

    def project_owner(self, name: str) -> str:
        return str(self.r.hget(Keys.project_owners, name) or "")

    def project_names(self) -> list[str]:
        return sorted(self.r.hkeys(Keys.projects))

    def project_manifest(self, name: str) -> dict[str, Any] | None:
        raw = self.r.hget(Keys.projects, name)
        return json.loads(raw) if raw else None
