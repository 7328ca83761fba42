"""Caches shared by every worker: rendered manifests, `git ls-remote` listings and Helm chart versions."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from reconciler.state.base import RedisState
from reconciler.state.keys import RENDER_CACHE_TTL_SECONDS, Keys, dumps


class CachesState(RedisState):
    def cached_render(self, cache_key: str) -> list[dict[str, Any]] | None:
        raw = self.r.get(Keys.render(cache_key))
        if raw is None:
            return None
        return json.loads(zlib.decompress(base64.b64decode(raw)))

    def cache_render(self, cache_key: str, objects: list[dict[str, Any]]) -> None:
        # Compressed because a render is mostly repeated keys; base64 because the client
        # decodes responses as text.
        packed = base64.b64encode(zlib.compress(dumps(objects).encode(), level=3)).decode()
        self.r.set(Keys.render(cache_key), packed, ex=RENDER_CACHE_TTL_SECONDS)

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

    def cached_chart_versions(self, chart_key: str) -> str | None:
        text = self.r.get(Keys.chart_versions(chart_key))
        return None if text is None else str(text)

    def cache_chart_versions(self, chart_key: str, text: str, ttl_seconds: float) -> None:
        self.r.set(Keys.chart_versions(chart_key), text, px=max(int(ttl_seconds * 1000), 1))
