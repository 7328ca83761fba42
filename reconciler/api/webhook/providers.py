"""Who sent a webhook, and what push it describes, for each supported provider.

Field names follow each provider's documented payload (GitHub "push", GitLab "Push
events"/"Tag events", Bitbucket Cloud "repo:push", Bitbucket Server/Data Center
"repo:refs_changed", Gitea/Gogs "push") and what Argo CD's util/webhook/webhook.go
reads from them, with a few deliberate differences, each explained where it is made:
every URL form the payload gives is kept (not only the web URL), and the file list
is dropped (None: "do not filter by path") whenever it cannot be trusted to be whole.

Generic payload (for CI jobs and anything else that can compute an HMAC), sent with
`X-Signature: sha256=<hex HMAC-SHA256 of the body>` and optionally
`X-Reconciler-Event: push|ping` (the header that marks an unsigned generic hook):

    {"repository": "https://git.example.com/org/repo.git",   required
     "ref": "refs/heads/main",                                required (refs/heads/... or refs/tags/...)
     "before": "<sha>", "after": "<sha>",                     optional
     "changed_files": ["apps/api/deploy.yaml", ...],          optional; absent/null: unknown
     "default_branch": "main"}                                optional
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from reconciler.api.webhook.event import PushEvent, WebhookError, check_size, lower_headers

JSONObject = dict[str, Any]

_ZERO_SHA = re.compile(r"^0+$")
# GitHub lists at most 2048 commits in a push payload; a list that long may be cut short.
_GITHUB_MAX_COMMITS = 2048

# Checked in this order: Gitea sends X-Gogs-Event and X-GitHub-Event too, and Gogs
# sends X-GitHub-Event-style headers as well, so the most specific header wins.
_DETECTION: tuple[tuple[str, str], ...] = (
    ("x-gitea-event", "gitea"),
    ("x-gogs-event", "gogs"),
    ("x-github-event", "github"),
    ("x-gitlab-event", "gitlab"),
    ("x-hook-uuid", "bitbucket"),
    ("x-event-key", "bitbucket-server"),
    ("x-signature", "generic"),
    ("x-reconciler-event", "generic"),
)

# The header that names the event, per provider.
_EVENT_HEADER = {
    "github": "x-github-event",
    "gitlab": "x-gitlab-event",
    "bitbucket": "x-event-key",
    "bitbucket-server": "x-event-key",
    "gitea": "x-gitea-event",
    "gogs": "x-gogs-event",
    "generic": "x-reconciler-event",
}


def detect_provider(headers: Mapping[str, str]) -> str:
    """Provider name from the request headers (case-insensitive); 400 when none fits."""
    lowered = lower_headers(headers)
    for header, provider in _DETECTION:
        if lowered.get(header, "").strip():
            return provider
    raise WebhookError(
        400,
        "cannot tell which Git provider sent this webhook: expected one of the headers "
        "X-GitHub-Event, X-Gitlab-Event, X-Event-Key (+ X-Hook-UUID for Bitbucket Cloud), "
        "X-Gitea-Event, X-Gogs-Event, or X-Signature for a generic hook",
    )


def parse(provider: str, headers: Mapping[str, str], body: bytes) -> PushEvent:
    """The push (or ping) a verified delivery describes.

    Raises `WebhookError` 400 for a malformed body or missing field, 413 for a body
    over the size limit, 422 for an event this system does not act on.
    """
    check_size(len(body))
    lowered = lower_headers(headers)
    try:
        parser = _PARSERS[provider]
    except KeyError:
        raise WebhookError(400, f'unknown webhook provider "{provider}"') from None
    event = lowered.get(_EVENT_HEADER[provider], "").strip()
    return parser(event, lowered, body)


# --- reading the body -------------------------------------------------------------


def load_body(provider: str, headers: Mapping[str, str], body: bytes) -> JSONObject:
    """A delivery's JSON object (`headers` lower-cased), from a JSON or a `payload=` form body."""
    text = body
    # GitHub, Gitea and Gogs can be set to send `payload=<json>` as a form instead.
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"))
        if "payload" not in form:
            raise WebhookError(400, f"{provider} webhook form body has no `payload` field")
        text = form["payload"][0].encode()
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookError(400, f"{provider} webhook body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WebhookError(400, f"{provider} webhook body must be a JSON object, not {type(data).__name__}")
    return data


def _field(data: JSONObject, path: str) -> Any:
    """Value at a dotted path; None when any step is missing."""
    node: Any = data
    for step in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(step)
    return node


def _required_str(provider: str, data: JSONObject, path: str) -> str:
    value = _field(data, path)
    if not isinstance(value, str) or not value:
        raise WebhookError(400, f"{provider} payload has no `{path}` string: is this a push event?")
    return value


def _optional_str(provider: str, data: JSONObject, path: str) -> str:
    value = _field(data, path)
    return value if isinstance(value, str) else ""


def _sha(value: str) -> str:
    # The all-zero SHA marks a ref that did not exist before (or no longer exists after).
    return "" if _ZERO_SHA.match(value) else value


def _urls(provider: str, data: JSONObject, paths: tuple[str, ...]) -> tuple[str, ...]:
    urls: list[str] = []
    for path in paths:
        value = _optional_str(provider, data, path)
        if value and value not in urls:
            urls.append(value)
    if not urls:
        raise WebhookError(400, f"{provider} payload names no repository URL: expected `{paths[0]}`")
    return tuple(urls)


def _files_from_commits(provider: str, commits: Any) -> tuple[str, ...]:
    if not isinstance(commits, list):
        raise WebhookError(400, f"{provider} payload `commits` must be a list")
    files: dict[str, None] = {}  # a dict keeps first-seen order and drops repeats
    for index, commit in enumerate(commits):
        if not isinstance(commit, dict):
            raise WebhookError(400, f"{provider} payload `commits[{index}]` must be an object")
        for kind in ("added", "modified", "removed"):
            names = commit.get(kind) or []
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise WebhookError(400, f"{provider} payload `commits[{index}].{kind}` must be a list of paths")
            files.update((name.lstrip("/"), None) for name in names)
    return tuple(files)


def _commit_files(
    provider: str, data: JSONObject, before: str, after: str, total: int | None, cap: int | None = None
) -> tuple[str, ...] | None:
    """Files the push changed, or None when the list cannot be the whole change.

    A created or deleted ref, a push without commits (a tag on an existing commit) and
    a commit list shorter than the push (GitLab sends 20, GitHub 2048) say nothing
    reliable about the tree: the app must be refreshed whatever its path.
    """
    commits = data.get("commits")
    if not before or not after or not commits:
        return None
    if total is not None and total > len(commits):
        return None
    if cap is not None and len(commits) >= cap:
        return None
    return _files_from_commits(provider, commits)


def _unsupported(provider: str, event: str, supported: str) -> WebhookError:
    shown = event or "(none)"
    return WebhookError(
        422, f'{provider} event "{shown}" is not handled: configure the webhook to send {supported} only'
    )


def _ping(provider: str, urls: tuple[str, ...] = ()) -> PushEvent:
    return PushEvent(provider, urls, "", "", "", None, "", is_ping=True)


# --- providers --------------------------------------------------------------------


def _github(event: str, headers: Mapping[str, str], body: bytes) -> PushEvent:
    provider = "github"
    if event == "ping":
        data = load_body(provider, headers, body)
        urls = tuple(u for u in (_optional_str(provider, data, "repository.html_url"),) if u)
        return _ping(provider, urls)
    if event != "push":
        raise _unsupported(provider, event, "push events")
    data = load_body(provider, headers, body)
    before = _sha(_optional_str(provider, data, "before"))
    after = _sha(_optional_str(provider, data, "after"))
    files = _commit_files(provider, data, before, after, None, _GITHUB_MAX_COMMITS)
    if data.get("forced") is True:
        # A force push lists only the new commits; files the dropped commits touched
        # changed back without appearing anywhere in the payload.
        files = None
    return PushEvent(
        provider=provider,
        repo_urls=_urls(
            provider,
            data,
            ("repository.html_url", "repository.clone_url", "repository.ssh_url", "repository.git_url"),
        ),
        ref=_required_str(provider, data, "ref"),
        before=before,
        after=after,
        changed_files=files,
        default_branch=_optional_str(provider, data, "repository.default_branch")
        or _optional_str(provider, data, "repository.master_branch"),
    )


def _gitlab(event: str, headers: Mapping[str, str], body: bytes) -> PushEvent:
    provider = "gitlab"
    # GitLab has no ping: its "Test" button sends a sample push. System hooks carry
    # the kind only in the body.
    if event not in ("Push Hook", "Tag Push Hook", "System Hook"):
        raise _unsupported(provider, event, "push and tag push events")
    data = load_body(provider, headers, body)
    kind = _optional_str(provider, data, "object_kind")
    if kind not in ("push", "tag_push"):
        raise _unsupported(provider, f"{event}/{kind or '?'}", "push and tag push events")
    before = _sha(_optional_str(provider, data, "before"))
    after = _sha(_optional_str(provider, data, "after"))
    total = data.get("total_commits_count")
    files = _commit_files(provider, data, before, after, total if isinstance(total, int) else None)
    return PushEvent(
        provider=provider,
        repo_urls=_urls(
            provider,
            data,
            (
                "project.web_url",
                "project.git_http_url",
                "project.git_ssh_url",
                "repository.homepage",
                "repository.git_http_url",
                "repository.git_ssh_url",
            ),
        ),
        ref=_required_str(provider, data, "ref"),
        before=before,
        after=after,
        changed_files=files,
        default_branch=_optional_str(provider, data, "project.default_branch"),
    )


def _bitbucket_cloud(event: str, headers: Mapping[str, str], body: bytes) -> PushEvent:
    provider = "bitbucket"
    if event != "repo:push":
        raise _unsupported(provider, event, "repo:push events")
    data = load_body(provider, headers, body)
    changes = _field(data, "push.changes")
    if not isinstance(changes, list) or not changes or not isinstance(changes[0], dict):
        raise WebhookError(400, "bitbucket payload has no `push.changes[0]` object")
    # Like Argo CD, only the first change is read; one push rarely moves several refs.
    change: JSONObject = changes[0]
    new, old = change.get("new"), change.get("old")
    named = new if isinstance(new, dict) else old  # `new` is null when the ref was deleted
    if not isinstance(named, dict):
        raise WebhookError(400, "bitbucket payload `push.changes[0]` has neither `new` nor `old`")
    name = _required_str(provider, named, "name")
    prefix = "refs/tags/" if named.get("type") in ("tag", "annotated_tag") else "refs/heads/"
    return PushEvent(
        provider=provider,
        repo_urls=_urls(provider, data, ("repository.links.html.href",)),
        ref=prefix + name,
        before=_sha(_optional_str(provider, old, "target.hash")) if isinstance(old, dict) else "",
        after=_sha(_optional_str(provider, new, "target.hash")) if isinstance(new, dict) else "",
        changed_files=None,  # Bitbucket lists no files; it would take an API call per push
        default_branch=_optional_str(provider, data, "repository.mainbranch.name"),
    )


def _bitbucket_server(event: str, headers: Mapping[str, str], body: bytes) -> PushEvent:
    provider = "bitbucket-server"
    if event == "diagnostics:ping":
        load_body(provider, headers, body)
        return _ping(provider)
    if event != "repo:refs_changed":
        raise _unsupported(provider, event, "repo:refs_changed (Push) events")
    data = load_body(provider, headers, body)
    clone = _field(data, "repository.links.clone")
    urls = tuple(
        link["href"]
        for link in (clone if isinstance(clone, list) else [])
        if isinstance(link, dict) and isinstance(link.get("href"), str) and link.get("name") in ("http", "ssh")
    )
    if not urls:
        raise WebhookError(400, "bitbucket-server payload names no repository URL: expected `repository.links.clone`")
    changes = data.get("changes")
    if not isinstance(changes, list) or not changes or not isinstance(changes[0], dict):
        raise WebhookError(400, "bitbucket-server payload has no `changes[0]` object")
    change: JSONObject = changes[0]  # like Argo CD, the first changed ref only
    ref = _optional_str(provider, change, "ref.id") or _required_str(provider, change, "refId")
    return PushEvent(
        provider=provider,
        repo_urls=urls,
        ref=ref,
        before=_sha(_optional_str(provider, change, "fromHash")),
        after=_sha(_optional_str(provider, change, "toHash")),
        changed_files=None,
        default_branch="",  # not in the payload
    )


def _gitea_like(provider: str) -> Callable[[str, Mapping[str, str], bytes], PushEvent]:
    def parse_push(event: str, headers: Mapping[str, str], body: bytes) -> PushEvent:
        if event != "push":
            raise _unsupported(provider, event, "push events")
        data = load_body(provider, headers, body)
        before = _sha(_optional_str(provider, data, "before"))
        after = _sha(_optional_str(provider, data, "after"))
        total = data.get("total_commits")
        return PushEvent(
            provider=provider,
            repo_urls=_urls(provider, data, ("repository.html_url", "repository.clone_url", "repository.ssh_url")),
            ref=_required_str(provider, data, "ref"),
            before=before,
            after=after,
            changed_files=_commit_files(provider, data, before, after, total if isinstance(total, int) else None),
            default_branch=_optional_str(provider, data, "repository.default_branch"),
        )

    return parse_push


def _generic(event: str, headers: Mapping[str, str], body: bytes) -> PushEvent:
    provider = "generic"
    if event == "ping":
        return _ping(provider)
    if event not in ("", "push"):
        raise _unsupported(provider, event, "push events (X-Reconciler-Event: push)")
    data = load_body(provider, headers, body)
    files = data.get("changed_files")
    if files is not None and (not isinstance(files, list) or not all(isinstance(f, str) for f in files)):
        raise WebhookError(400, "generic payload `changed_files` must be a list of paths, or null when unknown")
    return PushEvent(
        provider=provider,
        repo_urls=(_required_str(provider, data, "repository"),),
        ref=_required_str(provider, data, "ref"),
        before=_sha(_optional_str(provider, data, "before")),
        after=_sha(_optional_str(provider, data, "after")),
        changed_files=None if files is None else tuple(dict.fromkeys(f.lstrip("/") for f in files)),
        default_branch=_optional_str(provider, data, "default_branch"),
    )


_PARSERS: dict[str, Callable[[str, Mapping[str, str], bytes], PushEvent]] = {
    "github": _github,
    "gitlab": _gitlab,
    "bitbucket": _bitbucket_cloud,
    "bitbucket-server": _bitbucket_server,
    "gitea": _gitea_like("gitea"),
    "gogs": _gitea_like("gogs"),
    "generic": _generic,
}
