"""Repositories (and their branches) of a GitHub organisation or a GitLab group, read as Argo
CD's SCM-provider services read them:

- GitHub: GET {api}/orgs/{org}/repos?per_page=100 (Link pages); the default branch by
  GET /repos/{org}/{repo}/branches/{branch}, or every branch with allBranches
  (GET /repos/{org}/{repo}/branches?per_page=100); a path by GET /repos/{org}/{repo}/contents/{path}?ref=.
- GitLab: GET {api}/api/v4/groups/{group}/projects?per_page=100[&include_subgroups=true]
  [&with_shared=false][&topic=] (X-Next-Page pages); branches by
  GET /projects/{id}/repository/branches[/{branch}]; a path by /repository/tree, then /repository/files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from reconciler.control.appsets.scm import ScmAccess, ScmError
from reconciler.control.appsets.scm.pull_requests import MAX_PAGES, _pages_by_link, github_api


@dataclass(frozen=True)
class Repository:
    organization: str
    repository: str
    url: str
    branch: str
    sha: str
    labels: tuple[str, ...]
    repository_id: Any


class GitHubOrganization:
    def __init__(self, access: ScmAccess, spec: dict[str, Any], clone_protocol: str, where: str) -> None:
        self.access, self.spec, self.protocol = access, spec, clone_protocol
        self.base = github_api(spec.get("api", ""))
        token = access.token(spec.get("tokenRef"), "github", where)
        self.headers = {
            "Accept": "application/vnd.github+json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        }

    def repositories(self) -> list[Repository]:
        org = quote(self.spec["organization"], safe="")
        repos = _pages_by_link(
            self.access, f"{self.base}/orgs/{org}/repos", self.headers, {"per_page": 100}, self.base
        )
        result = []
        for repo in repos:
            name = str(repo["name"])
            url = str(repo.get("ssh_url") if self.protocol == "ssh" else repo.get("clone_url"))
            owner = str((repo.get("owner") or {}).get("login", self.spec["organization"]))
            for branch, sha in self._branches(owner, name, str(repo.get("default_branch", ""))):
                result.append(
                    Repository(owner, name, url, branch, sha, tuple(repo.get("topics") or ()), repo.get("id"))
                )
        return result

    def _branches(self, owner: str, name: str, default: str) -> list[tuple[str, str]]:
        path = f"{self.base}/repos/{quote(owner, safe='')}/{quote(name, safe='')}/branches"
        if self.spec.get("allBranches"):
            branches = _pages_by_link(self.access, path, self.headers, {"per_page": 100}, self.base)
        else:
            body, _ = self.access.get(f"{path}/{quote(default, safe='')}", headers=self.headers)
            branches = [body]
        return [(str(b["name"]), str((b.get("commit") or {}).get("sha", ""))) for b in branches]

    def has_path(self, repo: Repository, path: str) -> bool:
        url = (
            f"{self.base}/repos/{quote(repo.organization, safe='')}/{quote(repo.repository, safe='')}"
            f"/contents/{quote(path.strip('/'))}"
        )
        body, _ = self.access.get(url, headers=self.headers, params={"ref": repo.branch}, not_found_ok=True)
        return body is not None


class GitLabGroup:
    def __init__(self, access: ScmAccess, spec: dict[str, Any], clone_protocol: str, where: str) -> None:
        self.access, self.spec, self.protocol = access, spec, clone_protocol
        base = (spec.get("api") or "https://gitlab.com").rstrip("/")
        self.base = base if base.endswith("/api/v4") else f"{base}/api/v4"
        token = access.token(spec.get("tokenRef"), "gitlab", where)
        self.headers = {"PRIVATE-TOKEN": token} if token else {}
        self.verify = not spec.get("insecure")

    def _pages(self, url: str, params: dict[str, Any]) -> list[Any]:
        items: list[Any] = []
        for _ in range(MAX_PAGES):
            body, answer = self.access.get(url, headers=self.headers, params=params, verify=self.verify)
            if not isinstance(body, list):
                raise ScmError(f"GET {url}: expected a JSON list")
            items.extend(body)
            next_page = answer.get("x-next-page", "").strip()
            if not next_page:
                return items
            params = {**params, "page": next_page}
        return items

    def repositories(self) -> list[Repository]:
        params: dict[str, Any] = {"per_page": 100}
        if self.spec.get("includeSubgroups"):
            params["include_subgroups"] = "true"
        if self.spec.get("includeSharedProjects") is False:
            params["with_shared"] = "false"
        if self.spec.get("topic"):
            params["topic"] = self.spec["topic"]
        projects = self._pages(f"{self.base}/groups/{quote(str(self.spec['group']), safe='')}/projects", params)
        result = []
        for project in projects:
            url = str(project.get("ssh_url_to_repo") if self.protocol == "ssh" else project.get("http_url_to_repo"))
            labels = tuple(project.get("topics") or project.get("tag_list") or ())
            organization = str((project.get("namespace") or {}).get("full_path", ""))
            for branch, sha in self._branches(project):
                result.append(
                    Repository(organization, str(project["path"]), url, branch, sha, labels, project.get("id"))
                )
        return result

    def _branches(self, project: dict[str, Any]) -> list[tuple[str, str]]:
        path = f"{self.base}/projects/{project['id']}/repository/branches"
        if self.spec.get("allBranches"):
            branches = self._pages(path, {"per_page": 100})
        else:
            default = str(project.get("default_branch") or "")
            if not default:
                return []  # an empty repository has no branch to generate from
            body, _ = self.access.get(f"{path}/{quote(default, safe='')}", headers=self.headers, verify=self.verify)
            branches = [body]
        return [(str(b["name"]), str((b.get("commit") or {}).get("id", ""))) for b in branches]

    def has_path(self, repo: Repository, path: str) -> bool:
        project = f"{self.base}/projects/{repo.repository_id}/repository"
        entries, _ = self.access.get(
            f"{project}/tree",
            headers=self.headers,
            verify=self.verify,
            params={"path": path, "ref": repo.branch},
            not_found_ok=True,
        )
        if entries:
            return True
        body, _ = self.access.get(
            f"{project}/files/{quote(path.strip('/'), safe='')}",
            headers=self.headers,
            verify=self.verify,
            params={"ref": repo.branch},
            not_found_ok=True,
        )
        return body is not None


PROVIDERS = {"github": GitHubOrganization, "gitlab": GitLabGroup}
