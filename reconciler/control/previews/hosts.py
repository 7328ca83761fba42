"""The three Git hosts' APIs for a pull request's comment and commit status.

    GitHub   GET/POST {api}/repos/{owner}/{repo}/issues/{n}/comments, PATCH .../issues/comments/{id},
             POST {api}/repos/{owner}/{repo}/statuses/{sha}           (Authorization: Bearer TOKEN)
    Gitea    the same paths under {api} (/api/v1)                      (Authorization: token TOKEN)
    GitLab   GET/POST {api}/projects/{id}/merge_requests/{iid}/notes, PUT .../notes/{id},
             POST {api}/projects/{id}/statuses/{sha}                  (PRIVATE-TOKEN: TOKEN)

Every request goes through the outbound guard (no private or loopback address unless
RECONCILER_ALLOWED_PRIVATE_HOSTS allows it); an error names the method and path, never the token
or the host's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from reconciler.core.errors import TransientError
from reconciler.core.outbound import OutboundPolicy, OutboundRefused, failure_text, guarded_client

TIMEOUT_SECONDS = 20.0
MAX_COMMENT_PAGES = 20
STATUS_CONTEXT = "reconciler/preview"
# Comment size limits: GitHub's 65,536 characters; Gitea's MySQL TEXT column; GitLab's 1,000,000.
COMMENT_LIMITS = {"github": 65_000, "gitea": 65_000, "gitlab": 999_000}
_STATES = {"gitlab": {"success": "success", "failure": "failed", "pending": "running"}}


class PublishError(TransientError):
    """The Git host refused or failed a request; the message names it (no token)."""


@dataclass(frozen=True)
class HostApi:
    host: str
    api_url: str
    token: str
    policy: OutboundPolicy

    def _headers(self) -> dict[str, str]:
        if self.host == "gitlab":
            return {"PRIVATE-TOKEN": self.token}
        scheme = "Bearer" if self.host == "github" else "token"
        return {"Authorization": f"{scheme} {self.token}", "Accept": "application/json"}

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            with guarded_client(self.policy, timeout=TIMEOUT_SECONDS) as client:
                # No redirects: a token header (GitLab's PRIVATE-TOKEN) would follow to any host.
                response = client.request(
                    method, self.api_url + path, headers=self._headers(), follow_redirects=False, **kwargs
                )
        except OutboundRefused as exc:
            raise PublishError(f"{self.host} {method} {path}: {exc}") from None
        except httpx.HTTPError as exc:
            raise PublishError(f"{self.host} {method} {path}: {failure_text(exc)}") from None
        if response.status_code >= 300:
            scopes = f" (check RECONCILER_PREVIEW_{self.host.upper()}_TOKEN and its scopes)"
            hint = scopes if response.status_code in (401, 403, 404) else ""
            raise PublishError(f"{self.host} {method} {path}: {failure_text(response)}{hint}")
        try:
            return response.json() if response.content else None
        except ValueError:
            raise PublishError(f"{self.host} {method} {path}: the answer is not JSON") from None

    def _comments_path(self, full_name: str, number: int) -> str:
        if self.host == "gitlab":
            return f"/projects/{quote(full_name, safe='')}/merge_requests/{number}/notes"
        return f"/repos/{full_name}/issues/{number}/comments"

    def _comment_path(self, full_name: str, number: int, comment_id: str) -> str:
        if self.host == "gitlab":
            return f"{self._comments_path(full_name, number)}/{comment_id}"
        return f"/repos/{full_name}/issues/comments/{comment_id}"

    def find_comment(self, full_name: str, number: int, marker: str) -> str:
        """The id of the pull request's comment that starts with `marker`, "" when none does."""
        path = self._comments_path(full_name, number)
        for page in range(1, MAX_COMMENT_PAGES + 1):
            comments = self._send("GET", path, params={"per_page": 100, "page": page})
            if not isinstance(comments, list) or not comments:
                return ""
            for comment in comments:
                if isinstance(comment, dict) and str(comment.get("body") or "").startswith(marker):
                    return str(comment.get("id"))
            if len(comments) < 100:
                return ""
        return ""

    def upsert_comment(self, full_name: str, number: int, marker: str, body: str) -> str:
        """Edit the comment that carries `marker`, or add one; its id."""
        found = self.find_comment(full_name, number, marker)
        if found:
            method = "PUT" if self.host == "gitlab" else "PATCH"
            self._send(method, self._comment_path(full_name, number, found), json={"body": body})
            return found
        created = self._send("POST", self._comments_path(full_name, number), json={"body": body})
        return str((created or {}).get("id") or "")

    def set_status(self, full_name: str, sha: str, state: str, description: str, target_url: str) -> None:
        """`state`: success, failure or pending (GitLab's words: success, failed, running)."""
        state = _STATES.get(self.host, {}).get(state, state)
        body: dict[str, Any] = {"state": state, "description": description[:140]}
        if target_url:
            body["target_url"] = target_url
        if self.host == "gitlab":
            body["name"] = STATUS_CONTEXT
            self._send("POST", f"/projects/{quote(full_name, safe='')}/statuses/{sha}", json=body)
            return
        body["context"] = STATUS_CONTEXT
        self._send("POST", f"/repos/{full_name}/statuses/{sha}", json=body)
