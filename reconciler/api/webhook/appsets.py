"""Webhooks for ApplicationSets: a pull-request (merge-request) event refreshes at once every
set whose pull-request generator reads that repository; a push refreshes every set whose Git
generator reads the pushed repository. Which repositories a set reads is in its status
(`watched`, written by each generation run), so matching costs no generator call.

Pull-request events, by provider: GitHub and Gitea `pull_request`, GitLab `Merge Request Hook`,
Bitbucket Server `pr:*` (opened, merged, declined, deleted, from_ref_updated, ...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.api.webhook.event import WebhookError, lower_headers
from reconciler.api.webhook.matching import same_repository
from reconciler.state import Store

_PR_EVENTS = {
    ("github", "pull_request"),
    ("gitea", "pull_request"),
    ("gogs", "pull_request"),
    ("gitlab", "Merge Request Hook"),
}
_URL_FIELDS = (
    "repository.html_url", "repository.clone_url", "repository.ssh_url", "project.web_url",
    "project.git_http_url", "project.git_ssh_url",
)


def _field(data: Any, path: str) -> Any:
    for step in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(step)
    return data


def pull_request_repos(provider: str, headers: Mapping[str, str], body: bytes) -> list[str] | None:
    """The repository URLs a pull-request event names, or None when the delivery is not one."""
    lowered = lower_headers(headers)
    event = (lowered.get("x-github-event") or lowered.get("x-gitea-event") or lowered.get("x-gogs-event")
             or lowered.get("x-gitlab-event") or lowered.get("x-event-key") or "").strip()
    bitbucket = provider == "bitbucket-server" and event.startswith("pr:")
    if (provider, event) not in _PR_EVENTS and not bitbucket:
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookError(400, f"{provider} pull-request webhook body is not valid JSON: {exc}") from None
    urls = [value for value in (_field(data, path) for path in _URL_FIELDS) if isinstance(value, str) and value]
    if bitbucket:
        repo = _field(data, "pullRequest.toRef.repository") or {}
        project, slug = str(_field(repo, "project.key") or ""), str(repo.get("slug") or "")
        for link in _field(repo, "links.clone") or []:
            if isinstance(link, dict) and isinstance(link.get("href"), str):
                urls.append(link["href"])
        for link in _field(repo, "links.self") or []:
            if isinstance(link, dict) and isinstance(link.get("href"), str):
                urls.append(link["href"].removesuffix("/browse"))
        if project and slug:
            urls.append(f"bitbucket-server://{project.lower()}/{slug.lower()}")
    if not urls:
        raise WebhookError(400, f"{provider} pull-request payload names no repository")
    return urls


def _matches(watched: list[str], urls: list[str]) -> bool:
    for wanted in watched:
        for url in urls:
            if same_repository(url, wanted) or url.rstrip("/").lower() == wanted.rstrip("/").lower():
                return True
            if url.startswith("bitbucket-server://"):
                project, _, slug = url.removeprefix("bitbucket-server://").partition("/")
                if wanted.lower().rstrip("/").endswith((f"/projects/{project}/repos/{slug}", f"/scm/{project}/{slug}")):
                    return True
    return False


def appsets_concerned(store: Store, urls: list[str], kind: str) -> list[str]:
    """Registered sets whose `kind` ("pullRequest" or "git") generators read one of `urls`."""
    names = []
    for name in store.appset_manifests():
        watched = ((store.appset_status(name) or {}).get("watched") or {}).get(kind) or []
        if _matches(watched, urls):
            names.append(name)
    return sorted(names)


def refresh_appsets(store: Store, names: list[str]) -> list[str]:
    """Queue a fresh generation (fresh Git refs) of each set on the urgent queue."""
    from workers.tasks import queue_appset

    for name in names:
        queue_appset(store, name, fresh=True, urgent=True)
    return names
