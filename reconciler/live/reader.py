"""Reading the watcher's index: the LiveView a poll hands the compare pipeline, and the
resource tree the dashboard shows. Any process reads it; only the watcher writes it.

The index vouches for an app only when the cluster's watcher is alive (a heartbeat younger
than LIVE_STALE_SECONDS) and has listed every kind (and, with namespace-scoped RBAC, every
namespace) the comparison involves. Otherwise `tracked()` returns None with `source` saying
why, and the poll LISTs the cluster as it did before the watcher existed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from reconciler.engine.live_view import LiveRecord
from reconciler.live.records import TreeRecord, cluster_id, decode_tracked, decode_tree
from reconciler.model.resources import ResourceKey
from reconciler.state import Store

LIVE_STALE_SECONDS = 10.0


def unusable(meta: dict[str, str], kinds: Iterable[tuple[str, str]], namespaces: Iterable[str]) -> str:
    """Why the index cannot answer for these kinds and namespaces ("" when it can)."""
    beat = meta.get("heartbeat")
    if not beat:
        return "no watcher holds this cluster (start `reconciler watch`)"
    age = time.time() - float(beat)
    if age > LIVE_STALE_SECONDS:
        return f"the watcher's last heartbeat is {age:.0f}s old"
    coverage: dict[str, Any] = json.loads(meta.get("coverage") or "{}")
    wanted_ns = {ns for ns in namespaces if ns}
    for group, kind in sorted(set(kinds)):
        covered = coverage.get(f"{group}/{kind}")
        if covered is None:
            return f"the watcher has not listed {kind}{'.' + group if group else ''} (excluded, or not yet)"
        if isinstance(covered, list) and not wanted_ns <= set(covered):
            missing = ", ".join(sorted(wanted_ns - set(covered)))
            return f"the watcher does not watch {kind} in namespace(s) {missing} yet"
    return ""


class LiveStateReader:
    """The watcher's index for one cluster (a LiveView for engine/compare.py)."""

    def __init__(self, store: Store, server: str) -> None:
        self.store = store
        self.cluster = cluster_id(server)
        self.source = "watch"
        self._meta: dict[str, str] | None = None  # the cluster's index meta, read once per reader

    def _read_meta(self) -> dict[str, str]:
        if self._meta is None:
            self._meta = self.store.live_meta(self.cluster)
        return self._meta

    def tracked(
        self, app_name: str, kinds: Iterable[tuple[str, str]], namespaces: Iterable[str]
    ) -> dict[ResourceKey, LiveRecord] | None:
        kinds = set(kinds)
        if self._meta is None:
            self._meta, raw = self.store.live_objects(self.cluster, app_name)
        else:
            raw = self.store.live_app_records(self.cluster, app_name)
        meta = self._meta
        why = unusable(meta, kinds, namespaces)
        if why:
            self.source = why
            return None
        self.source = "watch"
        records = (decode_tracked(key, value) for key, value in raw.items())
        return {r.key: r for r in records if (r.key.group, r.key.kind) in kinds}

    def cluster_scoped_kinds(self) -> set[tuple[str, str]] | None:
        meta = self._read_meta()
        if unusable(meta, (), ()) or "clusterScoped" not in meta:
            return None
        return {(group, kind) for group, kind in json.loads(meta["clusterScoped"])}

    def tree(self, app_name: str) -> tuple[dict[str, LiveRecord], list[TreeRecord]] | None:
        """(tracked records by uid, the records under them), or None when no live watcher."""
        meta, raw, tree = self.store.live_tree(self.cluster, app_name)
        why = unusable(meta, (), ())
        if why:
            self.source = why
            return None
        tracked = {r.uid: r for r in (decode_tracked(k, v) for k, v in raw.items())}
        return tracked, [decode_tree(uid, value) for uid, value in tree.items()]
