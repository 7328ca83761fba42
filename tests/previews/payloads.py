"""Pull-request webhook deliveries as GitHub, Gitea and GitLab send them (the fields a preview
reads, with the hosts' names and nesting), signed as each host signs."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.api.conftest import SECRET, hex_hmac


def github_pull_request(action: str, repo_url: str, full_name: str, number: int, base: str, head: str,
                        head_repo: str | None = None) -> dict[str, Any]:
    repo = {"full_name": full_name, "html_url": repo_url, "clone_url": repo_url}
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "html_url": f"https://github.example/{full_name}/pull/{number}",
            "head": {"sha": head, "ref": "feature", "repo": {"full_name": head_repo or full_name}},
            "base": {"sha": base, "ref": "main", "repo": repo},
        },
        "repository": repo,
    }


def gitlab_merge_request(action: str, repo_url: str, path: str, iid: int, target: str, head: str,
                         oldrev: str = "", source_project: int = 7) -> dict[str, Any]:
    attributes = {"iid": iid, "action": action, "target_branch": target, "source_branch": "feature",
                  "last_commit": {"id": head}, "url": f"https://gitlab.example/{path}/-/merge_requests/{iid}",
                  "source_project_id": source_project, "target_project_id": 7}  # fmt: skip
    if oldrev:
        attributes["oldrev"] = oldrev
    return {"object_kind": "merge_request",
            "project": {"path_with_namespace": path, "web_url": repo_url, "git_http_url": repo_url},
            "object_attributes": attributes}  # fmt: skip


def deliver(http: httpx.Client, provider: str, payload: dict[str, Any], delivery: str) -> httpx.Response:
    body = json.dumps(payload).encode()
    if provider == "gitlab":
        headers = {"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": SECRET, "X-Gitlab-Event-UUID": delivery}
    elif provider == "gitea":
        headers = {"X-Gitea-Event": "pull_request", "X-Gitea-Signature": hex_hmac(SECRET, body),
                   "X-Gitea-Delivery": delivery}  # fmt: skip
    else:
        headers = {"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": "sha256=" + hex_hmac(SECRET, body),
                   "X-GitHub-Delivery": delivery}  # fmt: skip
    return http.post("/api/webhook", content=body, headers={"Content-Type": "application/json", **headers})
