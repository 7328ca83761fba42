"""Registered Applications and AppProjects, and which parent app-of-apps registered a child."""

from __future__ import annotations

import json
from typing import Any

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys, dumps


class RegistryState(RedisState):
    def put_app(self, name: str, manifest: dict[str, Any], parent: str | None = None) -> bool:
        """Register or update an app; True when it is new."""
        def write(pipe: Any) -> None:
            pipe.hset(Keys.apps, name, dumps(manifest))
            if parent:
                pipe.hset(Keys.parents, name, parent)

        return bool(self._durably(write)[0])

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
        return self.r.hget(Keys.parents, name)

    def children_of(self, parent: str) -> list[str]:
        return sorted(child for child, p in self.r.hgetall(Keys.parents).items() if p == parent)

    def delete_app(self, name: str) -> bool:
        """Forget an app and all of its state; True when it existed."""
        with self.r.pipeline() as pipe:
            pipe.hdel(Keys.apps, name)
            pipe.hdel(Keys.parents, name)
            pipe.hdel(Keys.appset_owner, name)
            pipe.zrem(Keys.schedule, name)
            pipe.hdel(Keys.poll_interval, name)
            pipe.delete(*Keys.per_app(name))
            existed = pipe.execute()[0]
        return bool(existed)

    def put_project(self, name: str, manifest: dict[str, Any]) -> bool:
        return bool(self._durably(lambda pipe: pipe.hset(Keys.projects, name, dumps(manifest)))[0])

    def project_names(self) -> list[str]:
        return sorted(self.r.hkeys(Keys.projects))

    def project_manifest(self, name: str) -> dict[str, Any] | None:
        raw = self.r.hget(Keys.projects, name)
        return json.loads(raw) if raw else None
