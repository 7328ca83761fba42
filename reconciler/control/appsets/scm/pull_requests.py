"""Open pull requests (merge requests) of one repository, read from the hosting API with the
requests Argo CD's pull-request services make:

- GitHub / Enterprise: GET {api}/repos/{owner}/{repo}/pulls?state=open&per_page=100, pages by
  the Link header (an Enterprise `api` gets `/api/v3`, as go-github's enterprise client does).
- GitLab: GET {api}/api/v4/projects/{project}/merge_requests?per_page=100[&labels=][&state=],
  pages by X-Next-Page; no state filter unless `pullRequestState` names one (Argo CD's default).
- Gitea: GET {api}/api/v1/repos/{owner}/{repo}/pulls?state=open&page=N&limit=50.
- Bitbucket Server: GET {api}/rest/api/1.0/projects/{project}/repos/{repo}/pull-requests?limit=100
  &start=N (open ones), pages by isLastPage / nextPageStart.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from reconciler.control.appsets.scm import ScmAccess, ScmError

MAX_PAGES = 50


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    branch: str
    target_branch: str
    head_sha: str
    labels: tuple[str, ...]
    author: str


def github_api(api: str) -> str:
    if not api:
        return "https://api.github.com"
    base = api.rstrip("/")
    return base if base.endswith("/api/v3") else f"{base}/api/v3"


def _next_link(link_header: str, base: str) -> str:
    for part in link_header.split(","):
        match = re.match(r'\s*<([^>]+)>\s*;\s*rel="next"', part)
        if match:
            url = urljoin(base + "/", match.group(1))
            # Follow pages of the same API only: a Link header never sends a token elsewhere.
            if urlsplit(url)[:2] == urlsplit(base)[:2]:
                return url
    return ""


def _pages_by_link(
    access: ScmAccess, url: str, headers: dict[str, str], params: dict[str, Any], base: str, verify: bool = True
) -> list[Any]:
    items: list[Any] = []
    for _ in range(MAX_PAGES):
        body, answer_headers = access.get(url, headers=headers, params=params, verify=verify)
        if not isinstance(body, list):
            raise ScmError(f"GET {url}: expected a JSON list")
        items.extend(body)
        url, params = _next_link(answer_headers.get("link", ""), base), {}
        if not url:
            break
    return items


def _names(labels: Any) -> tuple[str, ...]:
    return tuple(str(label.get("name") if isinstance(label, dict) else label) for label in labels or [])


def github(access: ScmAccess, spec: dict[str, Any], where: str) -> list[PullRequest]:
    base = github_api(spec.get("api", ""))
    token = access.token(spec.get("tokenRef"), "github", where)
    headers = {"Accept": "application/vnd.github+json", **({"Authorization": f"Bearer {token}"} if token else {})}
    url = f"{base}/repos/{quote(spec['owner'], safe='')}/{quote(spec['repo'], safe='')}/pulls"
    pulls = _pages_by_link(access, url, headers, {"state": "open", "per_page": 100}, base)
    wanted = set(spec.get("labels") or [])
    result = []
    for pull in pulls:
        labels = _names(pull.get("labels"))
        if wanted - set(labels):
            continue
        result.append(
            PullRequest(
                number=int(pull["number"]),
                title=str(pull.get("title", "")),
                branch=str((pull.get("head") or {}).get("ref", "")),
                target_branch=str((pull.get("base") or {}).get("ref", "")),
                head_sha=str((pull.get("head") or {}).get("sha", "")),
                labels=labels,
                author=str((pull.get("user") or {}).get("login", "")),
            )
        )
    return result


def gitlab(access: ScmAccess, spec: dict[str, Any], where: str) -> list[PullRequest]:
    base = (spec.get("api") or "https://gitlab.com").rstrip("/")
    base = base if base.endswith("/api/v4") else f"{base}/api/v4"
    token = access.token(spec.get("tokenRef"), "gitlab", where)
    headers = {"PRIVATE-TOKEN": token} if token else {}
    params: dict[str, Any] = {"per_page": 100}
    if spec.get("labels"):
        params["labels"] = ",".join(spec["labels"])
    if spec.get("pullRequestState"):
        params["state"] = spec["pullRequestState"]
    url = f"{base}/projects/{quote(str(spec['project']), safe='')}/merge_requests"
    merges: list[Any] = []
    for _ in range(MAX_PAGES):
        body, answer = access.get(url, headers=headers, params=params, verify=not spec.get("insecure"))
        if not isinstance(body, list):
            raise ScmError(f"GET {url}: expected a JSON list")
        merges.extend(body)
        next_page = answer.get("x-next-page", "").strip()
        if not next_page:
            break
        params = {**params, "page": next_page}
    wanted = set(spec.get("labels") or [])
    return [
        PullRequest(
            number=int(mr["iid"]),
            title=str(mr.get("title", "")),
            branch=str(mr.get("source_branch", "")),
            target_branch=str(mr.get("target_branch", "")),
            head_sha=str(mr.get("sha", "")),
            labels=_names(mr.get("labels")),
            author=str((mr.get("author") or {}).get("username", "")),
        )
        for mr in merges
        if not wanted - set(_names(mr.get("labels")))
    ]


def gitea(access: ScmAccess, spec: dict[str, Any], where: str) -> list[PullRequest]:
    base = (spec.get("api") or "https://gitea.com").rstrip("/")
    token = access.token(spec.get("tokenRef"), "gitea", where)
    headers = {"Authorization": f"token {token}"} if token else {}
    url = f"{base}/api/v1/repos/{quote(spec['owner'], safe='')}/{quote(spec['repo'], safe='')}/pulls"
    pulls: list[Any] = []
    for page in range(1, MAX_PAGES + 1):
        body, _ = access.get(
            url, headers=headers, params={"state": "open", "page": page, "limit": 50}, verify=not spec.get("insecure")
        )
        if not isinstance(body, list):
            raise ScmError(f"GET {url}: expected a JSON list")
        pulls.extend(body)
        if len(body) < 50:
            break
    wanted = set(spec.get("labels") or [])
    return [
        PullRequest(
            number=int(pr["number"]),
            title=str(pr.get("title", "")),
            branch=str((pr.get("head") or {}).get("ref", "")),
            target_branch=str((pr.get("base") or {}).get("ref", "")),
            head_sha=str((pr.get("head") or {}).get("sha", "")),
            labels=_names(pr.get("labels")),
            author=str((pr.get("user") or {}).get("login", "")),
        )
        for pr in pulls
        if not wanted - set(_names(pr.get("labels")))
    ]


def bitbucket_server(access: ScmAccess, spec: dict[str, Any], where: str) -> list[PullRequest]:
    api = spec.get("api", "").rstrip("/")
    if not api:
        raise ScmError(f"{where}.api: required: the Bitbucket Server URL, like https://bitbucket.example.com")
    base = api if api.endswith("/rest") else f"{api}/rest"
    headers = {"X-Atlassian-Token": "no-check"}
    if spec.get("bearerToken"):
        headers["Authorization"] = (
            f"Bearer {access.token(spec['bearerToken'].get('tokenRef'), 'bitbucketServer', where)}"
        )
    elif spec.get("basicAuth"):
        auth = spec["basicAuth"]
        password = access.token(auth.get("passwordRef"), "bitbucketServer", where)
        pair = base64.b64encode(f"{auth.get('username', '')}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {pair}"
    else:
        token = access.token(None, "bitbucketServer", where)
        if token:
            headers["Authorization"] = f"Bearer {token}"
    url = (
        f"{base}/api/1.0/projects/{quote(spec['project'], safe='')}/repos/{quote(spec['repo'], safe='')}"
        "/pull-requests"
    )
    pulls: list[Any] = []
    params: dict[str, Any] = {"limit": 100}
    for _ in range(MAX_PAGES):
        body, _ = access.get(url, headers=headers, params=params, verify=not spec.get("insecure"))
        if not isinstance(body, dict) or not isinstance(body.get("values"), list):
            raise ScmError(f"GET {url}: expected a page with values")
        pulls.extend(body["values"])
        if body.get("isLastPage", True) or body.get("nextPageStart") is None:
            break
        params = {"limit": 100, "start": body["nextPageStart"]}
    return [
        PullRequest(
            number=int(pr["id"]),
            title=str(pr.get("title", "")),
            branch=str((pr.get("fromRef") or {}).get("displayId", "")),
            target_branch=str((pr.get("toRef") or {}).get("displayId", "")),
            head_sha=str((pr.get("fromRef") or {}).get("latestCommit", "")),
            labels=(),
            author=str(((pr.get("author") or {}).get("user") or {}).get("name", "")),
        )
        for pr in pulls
    ]


PROVIDERS = {"github": github, "gitlab": gitlab, "gitea": gitea, "bitbucketServer": bitbucket_server}


def repository_urls(spec: dict[str, Any]) -> list[str]:
    """Web addresses of the repository a pull-request generator reads, for webhook matching."""
    if "github" in spec:
        g = spec["github"]
        host = g.get("api", "").rstrip("/").removesuffix("/api/v3") or "https://github.com"
        return [f"{host}/{g.get('owner', '')}/{g.get('repo', '')}"]
    if "gitlab" in spec:
        g = spec["gitlab"]
        return [
            f"{(g.get('api') or 'https://gitlab.com').rstrip('/').removesuffix('/api/v4')}/{g.get('project', '')}"
        ]
    if "gitea" in spec:
        g = spec["gitea"]
        return [f"{(g.get('api') or 'https://gitea.com').rstrip('/')}/{g.get('owner', '')}/{g.get('repo', '')}"]
    g = spec.get("bitbucketServer") or {}
    api = g.get("api", "").rstrip("/").removesuffix("/rest")
    return [
        f"{api}/projects/{g.get('project', '')}/repos/{g.get('repo', '')}",
        f"{api}/scm/{str(g.get('project', '')).lower()}/{g.get('repo', '')}",
    ]
