"""A preview's life in Redis: queued, running, then finished, failed or cancelled.

    start(store, request) -> id        record it queued; a pull request's newer preview cancels the older
    execute(services, id) -> record    run it (the `reconciler.preview` task on the `preview` queue)
    public_view(record)                what the API, the CLI and the dashboard show

The record holds the request, the state and the finished document (masked diffs only).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from reconciler.control.previews.document import commit_state, exit_code, headline
from reconciler.control.previews.publish import publish_failure, publish_pending, publish_result
from reconciler.control.previews.request import PreviewRequest
from reconciler.control.previews.run import PreviewCancelled, PreviewFailed, run_preview
from reconciler.core.urls import redact_url
from reconciler.services import Services
from reconciler.state import Store

log = logging.getLogger("reconciler.previews")
ENDED = ("finished", "failed", "cancelled")


def start(store: Store, request: PreviewRequest) -> str:
    preview_id = uuid.uuid4().hex
    record = {"id": preview_id, "state": "queued", "request": request.to_dict(), "createdAt": time.time()}
    store.put_preview(preview_id, record)
    if request.pull_request is not None:
        older = store.claim_pull_request_preview(request.pull_request.key, preview_id)
        if older:
            _cancel(store, older, f"a newer push to the pull request started preview {preview_id}")
    return preview_id


def _cancel(store: Store, preview_id: str, why: str) -> None:
    record = store.preview(preview_id)
    if record is not None and record["state"] not in ENDED:
        record.update(state="cancelled", error=why, endedAt=time.time())
        store.put_preview(preview_id, record)


def _superseded(store: Store, request: PreviewRequest, preview_id: str) -> bool:
    pr = request.pull_request
    return pr is not None and store.newest_pull_request_preview(pr.key) not in ("", preview_id)


def execute(services: Services, preview_id: str) -> dict[str, Any] | None:
    """Run a queued preview and store its end; None when it is gone (expired)."""
    store = services.store
    record = store.preview(preview_id)
    if record is None or record["state"] in ENDED:
        return record
    request = PreviewRequest.from_dict(record["request"])
    pr = request.pull_request
    record.update(state="running", startedAt=time.time())
    store.put_preview(preview_id, record)
    if pr is not None:
        publish_pending(services.settings, pr, preview_id)
    try:
        document = run_preview(services, request, lambda: _superseded(store, request, preview_id))
    except PreviewCancelled:
        _cancel(store, preview_id, "a newer push to the pull request superseded this preview")
        return store.preview(preview_id)
    except PreviewFailed as exc:
        record.update(state="failed", error=str(exc), endedAt=time.time())
        if pr is not None and not _superseded(store, request, preview_id):
            record["published"] = publish_failure(services.settings, pr, preview_id, str(exc))
        store.put_preview(preview_id, record)
        return record
    except Exception as exc:  # a bug: said as one, the preview ends instead of hanging in `running`
        log.exception("preview %s of %s failed", preview_id, redact_url(request.repo_url))
        error = f"unexpected {type(exc).__name__}, see the worker log"
        if type(exc).__name__ == "SoftTimeLimitExceeded":  # Celery's, raised in the task at its soft limit
            error = ("the preview took longer than the task time limit: raise RECONCILER_TASK_TIME_LIMIT, or "
                     "split the change (every app a change touches is rendered twice)")
        record.update(state="failed", error=error, endedAt=time.time())
        store.put_preview(preview_id, record)
        return record
    if _superseded(store, request, preview_id):
        _cancel(store, preview_id, "a newer push to the pull request superseded this preview")
        return store.preview(preview_id)
    record.update(state="finished", document=document, endedAt=time.time())
    if pr is not None:
        record["published"] = publish_result(services.settings, pr, preview_id, document)
    store.put_preview(preview_id, record)
    return record


def public_view(record: dict[str, Any]) -> dict[str, Any]:
    """The record as users see it: the document's keys (`apps`, ...) with the preview's state."""
    request = record.get("request") or {}
    view: dict[str, Any] = {
        "id": record["id"], "state": record["state"], "repoURL": redact_url(str(request.get("repo_url") or "")),
        "base": request.get("base", ""), "head": request.get("head", ""), "apps": [],
    }  # fmt: skip
    if record.get("error"):
        view["error"] = record["error"]
    pr = request.get("pull_request")
    if pr:
        view["pullRequest"] = {k: pr[k] for k in ("host", "full_name", "number", "url", "head_sha") if k in pr}
    if record.get("published"):
        view["published"] = record["published"]
    document = record.get("document")
    if document is not None:
        view.update(document)
    return view


def verdicts(view: dict[str, Any]) -> dict[str, Any]:
    """exitCode, commit state and headline of a finished view (recomputed after any filtering)."""
    return {"exitCode": exit_code(view), "commitState": commit_state(view), "summary": headline(view)}
