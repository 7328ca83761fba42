"""Caches shared by every worker: rendered manifests, `git ls-remote` listings and Helm chart versions."""

from __future__ import annotations

import base64
import json
import time
import zlib
from typing import Any

from reconciler.state.base import RedisState
from reconciler.state.keys import RENDER_CACHE_TTL_SECONDS, Keys, dumps
from reconciler.state.sealing import UnsealError

# A shared ref listing starts with this header: when its `git ls-remote` started.
_LISTED_AT = "#listed-at "
# KEYS: the listing. ARGV: the listing with its header, its start time, TTL in ms. Stored unless
# the listing already there started later.
_CACHE_REFS_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local at = string.match(current, '^#listed%-at ([%d%.]+)\\n')
  if at and tonumber(at) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""


class CachesState(RedisState):
    SCRIPTS = {"_cache_refs_if_newer": _CACHE_REFS_IF_NEWER}

    def cached_render(self, cache_key: str) -> list[dict[str, Any]] | None:
        raw = self.r.get(Keys.render(cache_key))
        if raw is None:
            return None
        try:
            return list(self.sealer.unseal(json.loads(zlib.decompress(base64.b64decode(raw)))))
        except UnsealError:
            return None  # sealed with another key: render again rather than fail

    def cache_render(self, cache_key: str, objects: list[dict[str, Any]]) -> None:
        # Compressed because a render is mostly repeated keys; base64 because the client
        # decodes responses as text.
        packed = base64.b64encode(zlib.compress(dumps(self.sealer.seal(objects)).encode(), level=3)).decode()
        self.r.set(Keys.render(cache_key), packed, ex=RENDER_CACHE_TTL_SECONDS)

    def cached_refs(self, repo_key: str) -> tuple[str, float] | None:
        with self.r.pipeline() as pipe:
            pipe.get(Keys.refs(repo_key))
            pipe.pttl(Keys.refs(repo_key))
            text, pttl = pipe.execute()
        if text is None or pttl is None or int(pttl) <= 0:
            return None
        header, newline, output = str(text).partition("\n")
        return (output if header.startswith(_LISTED_AT) and newline else str(text)), int(pttl) / 1000

    def cache_refs(self, repo_key: str, output: str, ttl_seconds: float, listed_at: float | None = None) -> bool:
        """Share an `ls-remote` answer, unless the one shared was listed later (`listed_at`: when
        this listing started, Unix time; now when not given). A listing that started before a push
        and ended after the push's own listing must not put the old commit back for every worker.
        Returns whether it was stored."""
        at = time.time() if listed_at is None else listed_at
        stored = self._cache_refs_if_newer(  # type: ignore[attr-defined]
            keys=[Keys.refs(repo_key)], args=[f"{_LISTED_AT}{at:.6f}\n{output}", f"{at:.6f}",
                                              max(int(ttl_seconds * 1000), 1)],
        )
        return bool(stored)

    def cached_chart_versions(self, chart_key: str) -> str | None:
        text = self.r.get(Keys.chart_versions(chart_key))
        return None if text is None else str(text)

    def cache_chart_versions(self, chart_key: str, text: str, ttl_seconds: float) -> None:
        self.r.set(Keys.chart_versions(chart_key), text, px=max(int(ttl_seconds * 1000), 1))
