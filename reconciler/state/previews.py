"""Pull-request previews (reconciler/control/previews): each preview's record, and which one is
the newest of its pull request, so a newer push stops the older preview."""

from __future__ import annotations

import json
from typing import Any

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys, dumps

# A preview is a review aid, not history: kept two weeks (the dashboard link in a PR comment).
PREVIEW_TTL_SECONDS = 14 * 24 * 3600


class PreviewsState(RedisState):
    def put_preview(self, preview_id: str, record: dict[str, Any]) -> None:
        """Store the whole record (request, state, document). The document holds only masked
        diffs (Secret values never leave engine/diff), so nothing secret is written here."""
        self.r.set(Keys.preview(preview_id), dumps(record), ex=PREVIEW_TTL_SECONDS)

    def preview(self, preview_id: str) -> dict[str, Any] | None:
        raw = self.r.get(Keys.preview(preview_id))
        return json.loads(raw) if raw else None

    def claim_pull_request_preview(self, pull_request: str, preview_id: str) -> str:
        """Make `preview_id` the newest preview of `pull_request`; the one it replaces ("" none)."""
        before = self.r.set(Keys.preview_pr(pull_request), preview_id, ex=PREVIEW_TTL_SECONDS, get=True)
        return str(before or "")

    def newest_pull_request_preview(self, pull_request: str) -> str:
        return str(self.r.get(Keys.preview_pr(pull_request)) or "")
