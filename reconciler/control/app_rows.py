"""The rows of `app list` and `GET /api/v1/applications`, read in bulk, and the server-side
paging, sorting and filtering of the list.

A row is what `user_actions.summary` returns for one app; `rows` builds the same for every app
in a handful of round trips (the registry, the rows hash the status writes keep, the operation
states, the last history entries, the owners), so a list of 10,000 apps does not cost 30,000
round trips. `rows_of` does it for a few apps (the event stream's summaries).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.errors import InputError
from reconciler.state import Store
from reconciler.state.registry import PARENT_OWNER_PREFIX
from reconciler.state.status import status_row as status_row_of

SORT_KEYS = ("name", "sync", "health", "lastSync")
MAX_PAGE_SIZE = 1000


def rows(store: Store) -> list[dict[str, Any]]:
    """Every registered app's row, sorted by name."""
    manifests = store.app_manifests()
    return _build(store, manifests, sorted(manifests))


@dataclass
class RowIndex:
    """Every app's row, kept in this process and brought up to date from the app event stream
    (state/app_events.py) at each read, as Argo CD's API server answers lists from its informer
    cache: the first read builds it (`rows`: a few seconds at 10,000 apps, so an API warms it at
    start), each later read costs one XRANGE and the rows of the apps that changed since. A gap
    in the stream (the reader fell behind its cap) rebuilds it."""

    store: Store
    _rows: dict[str, dict[str, Any]] | None = None
    _names: list[str] = field(default_factory=list)  # sorted: the order `rows` answers in
    _position: str = "0-0"
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def rows(self) -> list[dict[str, Any]]:
        """Every registered app's row, sorted by name (the rows are shared: do not change them)."""
        with self._lock:
            if self._rows is None or not self._caught_up():
                self._rebuild()
            assert self._rows is not None
            return [self._rows[name] for name in self._names]

    def _rebuild(self) -> None:
        position = self.store.last_app_event_id()  # before reading: what changes meanwhile is replayed
        built = rows(self.store)
        self._rows = {row["name"]: row for row in built}
        self._names = [row["name"] for row in built]
        self._position = position

    def _caught_up(self) -> bool:
        """Apply what changed since the last read; False when the stream no longer holds it."""
        assert self._rows is not None
        while True:
            events = self.store.app_events_since(self._position, count=EVENT_BATCH)
            if events is None:
                return False
            if not events:
                return True
            self._position = events[-1][0]
            changed = {app for _id, _kind, app in events}
            fresh = rows_of(self.store, changed)
            for name in changed:
                if name in fresh:
                    self._rows[name] = fresh[name]
                else:
                    self._rows.pop(name, None)
            self._names = sorted(self._rows)
            if len(events) < EVENT_BATCH:
                return True


EVENT_BATCH = 10_000


def rows_of(store: Store, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The rows of the given apps that are registered."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    manifests = store.app_manifests_of(wanted)
    return {row["name"]: row for row in _build(store, manifests, sorted(manifests))}


def _build(store: Store, manifests: dict[str, dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    if not names:
        return []
    inputs = store.row_inputs(names)
    missing = [n for n, (status_row, *_rest) in zip(names, inputs, strict=True) if status_row is None]
    fallback = {n: status_row_of(s or {}) for n, s in store.statuses(missing).items()} if missing else {}
    result = []
    for name, (status_row, owner, operation, last) in zip(names, inputs, strict=True):
        row = status_row if status_row is not None else fallback.get(name, status_row_of({}))
        result.append(_row(name, manifests[name], row, operation, last, owner))
    return result


def _row(name: str, manifest: dict[str, Any], status_row: dict[str, Any], operation: dict[str, Any],
         last: dict[str, Any] | None, owner: str) -> dict[str, Any]:
    """Exactly the keys and values of `user_actions.summary`."""
    spec = manifest.get("spec") or {}
    source = spec.get("source") or {}
    destination = spec.get("destination") or {}
    automated = (spec.get("syncPolicy") or {}).get("automated")
    return {
        "name": name,
        "project": spec.get("project") or "default",
        "repoURL": source.get("repoURL", ""),
        "path": source.get("path", ""),
        "targetRevision": source.get("targetRevision") or "HEAD",
        "destination": {k: destination.get(k, "") for k in ("server", "name", "namespace")},
        "sync": status_row.get("sync", "Unknown"),
        "revision": status_row.get("revision", ""),
        "health": status_row.get("health", "Unknown"),
        "syncedRevision": last["revision"] if last else "",
        "lastSync": {
            "phase": operation.get("phase", ""),
            "finishedAt": operation.get("finishedAt"),
            "message": operation.get("message", ""),
        },
        "automated": isinstance(automated, dict) and automated.get("enabled", True) is not False,
        "parent": owner.removeprefix(PARENT_OWNER_PREFIX) if owner.startswith(PARENT_OWNER_PREFIX) else "",
        "owner": owner,
    }


class PageError(InputError, ValueError):
    """A paging parameter that cannot be used; the message names it."""


@dataclass(frozen=True)
class PageRequest:
    """`limit` rows after `continue_token` (or on 1-based `page`), ordered by `sort`."""

    limit: int = 0  # 0: every row
    continue_token: str = ""
    page: int = 0
    sort: str = "name"

    def check(self) -> None:
        if self.limit < 0 or self.limit > MAX_PAGE_SIZE:
            raise PageError(f"limit must be between 1 and {MAX_PAGE_SIZE}, not {self.limit}")
        if self.page < 0:
            raise PageError(f"page must be 1 or more, not {self.page}")
        if self.page and self.continue_token:
            raise PageError("give either page or continue, not both")
        if self.sort.lstrip("-") not in SORT_KEYS:
            raise PageError(f"sort must be one of {', '.join(SORT_KEYS)} (with - for descending), not {self.sort!r}")
        if self.continue_token and not self.continue_token.isdigit():
            raise PageError(
                f"continue {self.continue_token!r} is not a token this API gave out: start again without it"
            )


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    continue_token: str  # "" on the last page


_HEALTH_ORDER = {s: i for i, s in enumerate(("Degraded", "Missing", "Unknown", "Progressing", "Suspended", "Healthy"))}
_SYNC_ORDER = {s: i for i, s in enumerate(("OutOfSync", "Unknown", "Synced"))}


def _sort_key(field: str) -> Any:
    if field == "sync":
        return lambda r: (_SYNC_ORDER.get(r["sync"], 1), r["name"])
    if field == "health":  # the worst first, as Argo CD's UI orders health
        return lambda r: (_HEALTH_ORDER.get(r["health"], 2), r["name"])
    if field == "lastSync":
        return lambda r: (float((r.get("lastSync") or {}).get("finishedAt") or 0), r["name"])
    return lambda r: r["name"]


def paged(rows_in: list[dict[str, Any]], request: PageRequest) -> Page:
    """One page of `rows_in` (already filtered). The continue token is the offset of the next
    row in the same order: a list that changes between pages may skip or repeat a row, as a
    Kubernetes LIST continued after its snapshot expired does."""
    request.check()
    field = request.sort.lstrip("-")
    ordered = sorted(rows_in, key=_sort_key(field), reverse=request.sort.startswith("-"))
    if not request.limit:
        return Page(ordered, len(ordered), "")
    start = int(request.continue_token) if request.continue_token else max(request.page - 1, 0) * request.limit
    end = start + request.limit
    return Page(ordered[start:end], len(ordered), str(end) if end < len(ordered) else "")
