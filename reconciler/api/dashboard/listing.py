"""One page of the dashboard's applications list, decided on the server: the rows come from the
API's row index (control/app_rows.py RowIndex, kept current by the app event stream), are
narrowed to the apps the caller may `get` (the cached RBAC decisions of control/access), then
filtered, sorted and paged (`app_rows.paged`); only the rows of the page are dressed with links
and sync-policy flags (one read of their manifests and statuses), so a list of 10,000 apps
costs the browser one page of rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.api.dashboard.views import list_row
from reconciler.control.app_rows import MAX_PAGE_SIZE, PageError, PageRequest, paged
from reconciler.state import Store

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class ListQuery:
    sync: str = ""
    health: str = ""
    project: str = ""
    search: str = ""  # part of the name, repository URL or path
    sort: str = "name"
    page: int = 1
    limit: int = 50

    def matches(self, row: dict[str, Any]) -> bool:
        if self.sync and row["sync"] != self.sync:
            return False
        if self.health and row["health"] != self.health:
            return False
        if self.project and row["project"] != self.project:
            return False
        text = self.search.strip().lower()
        return not text or any(text in str(row.get(k) or "").lower() for k in ("name", "repoURL", "path"))


def list_page(store: Store, rows: Rows, query: ListQuery, visible: Callable[[Rows], Rows]) -> dict[str, Any]:
    """`{items, total, page, pages, limit, counts, projects, all}`: the page's rows, how many match,
    and, over every app the caller may see, the count per sync status and the projects."""
    if not 1 <= query.limit <= MAX_PAGE_SIZE:
        raise PageError(f"limit must be between 1 and {MAX_PAGE_SIZE}, not {query.limit}")
    if query.page < 1:
        raise PageError(f"page must be 1 or more, not {query.page}")
    seen = visible(rows)
    counts: dict[str, int] = {}
    for row in seen:
        counts[row["sync"]] = counts.get(row["sync"], 0) + 1
    found = paged([r for r in seen if query.matches(r)],
                  PageRequest(limit=query.limit, page=query.page, sort=query.sort or "name"))
    pages = max((found.total + query.limit - 1) // query.limit, 1)
    return {
        "items": dressed(store, found.items), "total": found.total, "page": query.page, "pages": pages,
        "limit": query.limit, "counts": counts, "projects": sorted({r["project"] for r in seen}), "all": len(seen),
    }


def dressed(store: Store, rows: Rows) -> Rows:
    """The list rows with links and sync-policy flags (`views.list_row`)."""
    names = [r["name"] for r in rows]
    if not names:
        return []
    manifests = store.app_manifests_of(names)
    statuses = store.statuses(names)
    return [list_row(r, statuses.get(r["name"]), manifests.get(r["name"]) or {}) for r in rows]
