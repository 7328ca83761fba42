"""A finished preview posted to its pull request: one comment (edited in place on each push,
found by its marker) and a commit status, when the host's token is configured. The link to the
full report is the dashboard's page of the preview (RECONCILER_URL + /previews/{id})."""

from __future__ import annotations

import logging
from typing import Any

from reconciler.control.previews.document import commit_state, status_description
from reconciler.control.previews.hosts import COMMENT_LIMITS, HostApi, PublishError
from reconciler.control.previews.markdown import MARKER, comment_body
from reconciler.control.previews.request import PullRequest
from reconciler.core.outbound import OutboundPolicy
from reconciler.settings import Settings

log = logging.getLogger("reconciler.previews")


def preview_link(settings: Settings, preview_id: str) -> str:
    return f"{settings.public_url}/previews/{preview_id}" if settings.public_url else ""


def host_api(settings: Settings, host: str) -> HostApi | None:
    token = settings.preview.tokens.get(host, "")
    if not token:
        return None
    return HostApi(host, settings.preview.api_urls[host], token, OutboundPolicy())


def publish_pending(settings: Settings, pr: PullRequest, preview_id: str) -> None:
    """A `pending` status while the preview runs (best effort: the result is what matters)."""
    api = host_api(settings, pr.host)
    if api is None:
        return
    try:
        api.set_status(pr.full_name, pr.head_sha, "pending", "preview running", preview_link(settings, preview_id))
    except PublishError as exc:
        log.warning("preview %s: pending status not set: %s", preview_id, exc)


def publish_result(settings: Settings, pr: PullRequest, preview_id: str, document: dict[str, Any]) -> dict[str, Any]:
    """Post the comment and the status; what was done, or why not (never the token)."""
    api = host_api(settings, pr.host)
    if api is None:
        return {"skipped": f"no token for {pr.host}: set RECONCILER_PREVIEW_{pr.host.upper()}_TOKEN to post results"}
    link = preview_link(settings, preview_id)
    state = commit_state(document)
    try:
        body = comment_body(document, link, COMMENT_LIMITS[pr.host])
        comment = api.upsert_comment(pr.full_name, pr.number, MARKER, body)
        api.set_status(pr.full_name, pr.head_sha, state, status_description(document), link)
    except PublishError as exc:
        log.warning("preview %s: result not posted to %s: %s", preview_id, pr.key, exc)
        return {"error": str(exc)}
    return {"comment": comment, "status": state}


def publish_failure(settings: Settings, pr: PullRequest, preview_id: str, message: str) -> dict[str, Any]:
    """A preview that could not run at all: a failing status saying why."""
    api = host_api(settings, pr.host)
    if api is None:
        return {"skipped": f"no token for {pr.host}"}
    try:
        api.set_status(pr.full_name, pr.head_sha, "failure", message, preview_link(settings, preview_id))
    except PublishError as exc:
        return {"error": str(exc)}
    return {"status": "failure"}
