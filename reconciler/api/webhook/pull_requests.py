"""Pull-request webhooks that start a preview (reconciler/control/previews): a pull request
opened, reopened or pushed to on GitHub (`pull_request`: opened, reopened, synchronize), Gitea
(`pull_request`: opened, reopened, synchronized) or GitLab (`Merge Request Hook`: open, reopen,
update with new commits), for a repository a registered app uses.

A fork's pull request is content from anyone: it is previewed only with
RECONCILER_PREVIEW_ALLOW_FORKS=true (and then under the same render limits as any source).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.api.webhook.event import WebhookError, lower_headers
from reconciler.api.webhook.providers import load_body
from reconciler.control.previews.request import InvalidPreviewRequest, PreviewRequest, PullRequest, check_request
from reconciler.core.urls import same_repository
from reconciler.model import Application

PREVIEW_ACTIONS = {
    "github": {"opened", "reopened", "synchronize"},
    "gitea": {"opened", "reopened", "synchronized"},
    "gitlab": {"open", "reopen", "update"},
}
_EVENT_HEADERS = {"github": "x-github-event", "gitea": "x-gitea-event", "gitlab": "x-gitlab-event"}
_EVENTS = {"github": "pull_request", "gitea": "pull_request", "gitlab": "Merge Request Hook"}


@dataclass(frozen=True)
class PullRequestEvent:
    pull_request: PullRequest
    action: str
    repo_urls: tuple[str, ...]
    base: str  # the base branch's commit (GitHub, Gitea) or the target branch (GitLab)


def _get(data: Any, path: str) -> Any:
    for step in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(step)
    return data


def _text(data: Any, path: str) -> str:
    value = _get(data, path)
    return value if isinstance(value, str) else ""


def parse_pull_request(provider: str, headers: Mapping[str, str], body: bytes) -> PullRequestEvent | None:
    """The pull-request event a delivery describes, or None when it is not one a preview acts on."""
    if provider not in _EVENTS or lower_headers(headers).get(_EVENT_HEADERS[provider], "").strip() != _EVENTS[provider]:
        return None
    data = load_body(provider, lower_headers(headers), body)
    event = _gitlab(data) if provider == "gitlab" else _github_like(provider, data)
    if event is None or event.action not in PREVIEW_ACTIONS[provider]:
        return None
    return event


def _required(provider: str, value: Any, field: str) -> Any:
    if value in (None, "", 0):
        raise WebhookError(400, f"{provider} pull-request payload has no `{field}`")
    return value


def _github_like(provider: str, data: dict[str, Any]) -> PullRequestEvent | None:
    pr = data.get("pull_request")
    if not isinstance(pr, dict):
        raise WebhookError(400, f"{provider} pull-request payload has no `pull_request` object")
    full_name = _required(provider, _text(data, "repository.full_name"), "repository.full_name")
    head_repo = _text(pr, "head.repo.full_name")
    number = _get(pr, "number") or _get(data, "number")
    pull_request = PullRequest(
        host=provider,
        full_name=full_name,
        number=int(_required(provider, number if isinstance(number, int) else 0, "number")),
        head_sha=_required(provider, _text(pr, "head.sha"), "pull_request.head.sha"),
        url=_text(pr, "html_url"),
        fork=head_repo != full_name,  # a deleted fork has no head repo: not trusted either
    )
    urls = tuple(u for u in (_text(data, f"repository.{k}") for k in ("html_url", "clone_url", "ssh_url")) if u)
    base = _text(pr, "base.sha") or _text(pr, "base.ref")
    return PullRequestEvent(pull_request, _text(data, "action"), urls, _required(provider, base, "base.sha"))


def _gitlab(data: dict[str, Any]) -> PullRequestEvent | None:
    if _text(data, "object_kind") != "merge_request":
        return None
    attributes = data.get("object_attributes")
    if not isinstance(attributes, dict):
        raise WebhookError(400, "gitlab merge-request payload has no `object_attributes` object")
    action = _text(attributes, "action")
    if action == "update" and not _text(attributes, "oldrev"):
        return None  # an edit of the title, labels, ...: no new commits, nothing new to preview
    iid = attributes.get("iid")
    pull_request = PullRequest(
        host="gitlab",
        full_name=_required("gitlab", _text(data, "project.path_with_namespace"), "project.path_with_namespace"),
        number=int(_required("gitlab", iid if isinstance(iid, int) else 0, "object_attributes.iid")),
        head_sha=_required("gitlab", _text(attributes, "last_commit.id"), "object_attributes.last_commit.id"),
        url=_text(attributes, "url"),
        fork=attributes.get("source_project_id") != attributes.get("target_project_id"),
    )
    urls = tuple(u for u in (_text(data, f"project.{k}") for k in ("web_url", "git_http_url", "git_ssh_url")) if u)
    base = _required("gitlab", _text(attributes, "target_branch"), "object_attributes.target_branch")
    return PullRequestEvent(pull_request, action, urls, base)


def preview_request(
    event: PullRequestEvent, apps: Iterable[Application | None], allow_forks: bool
) -> tuple[PreviewRequest | None, str]:
    """(the preview to queue, "") or (None, why not)."""
    if event.pull_request.fork and not allow_forks:
        return None, ("a pull request from a fork is not previewed (its content is untrusted): set "
                      "RECONCILER_PREVIEW_ALLOW_FORKS=true to preview forks")  # fmt: skip
    for app in apps:
        for source in app.all_sources if app is not None else ():
            if not source.chart and any(same_repository(url, source.repo_url) for url in event.repo_urls):
                try:
                    # Fetched by the app's own URL: the one its credentials are configured for.
                    repo, base, head = check_request(source.repo_url, event.base, event.pull_request.head_sha)
                except InvalidPreviewRequest as exc:
                    return None, str(exc)
                return PreviewRequest(repo, base, head, pull_request=event.pull_request), ""
    return None, "no registered application uses this repository"
