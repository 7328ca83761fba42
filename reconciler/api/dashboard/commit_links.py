"""Web links for a repository and its commits, where the repository host is known.

A clone URL (https, ssh, scp-like `git@host:org/repo.git`) becomes the repository's web
address on GitHub, GitLab, Bitbucket (Cloud and Server) or Gitea; any other host (or a
`file://` repository) gets no link rather than a guessed one that 404s. Self-hosted
instances are recognised by the product's name in the host (`gitlab.example.com`).
Credentials in the URL never reach the link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# `git@host:org/repo`: a user, a host, a colon and a path that does not start with `//`.
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/\[\]]+):(?!//)(?P<path>.+)$")
_FULL_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")


@dataclass(frozen=True)
class RepoWeb:
    """Where a repository lives on the web, and how that host spells a commit page."""

    base: str  # https://host/org/repo
    commit_pattern: str  # "{base}/commit/{sha}"

    def commit_url(self, sha: str) -> str:
        return self.commit_pattern.format(base=self.base, sha=sha)


def _host_and_path(repo_url: str) -> tuple[str, str] | None:
    url = repo_url.strip()
    if "://" not in url:
        match = _SCP_LIKE.match(url)
        if match is None:
            return None
        return match["host"].lower(), match["path"]
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https", "ssh", "git", "git+ssh", "ssh+git"):
        return None
    host = (parts.hostname or "").lower()
    if not host:
        return None
    # Web pages live on the default HTTPS port even when SSH runs on 7999 or 2222; keep
    # an explicit port only for http(s) clone URLs, where it is the web server's.
    if parts.port and parts.scheme.lower() in ("http", "https"):
        host = f"{host}:{parts.port}"
    return host, parts.path


def _clean_path(path: str) -> str:
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return path.strip("/")


def repo_web(repo_url: str) -> RepoWeb | None:
    """The web address of a known host's repository, or None when the host is unknown."""
    found = _host_and_path(repo_url)
    if found is None:
        return None
    host, raw_path = found
    path = _clean_path(raw_path)
    if not path or "/" not in path:
        return None
    name = host.split(":", 1)[0]
    if name == "bitbucket.org":
        return RepoWeb(f"https://{host}/{path}", "{base}/commits/{sha}")
    if "bitbucket" in name:
        # Bitbucket Server clones from /scm/PROJECT/repo; its pages are /projects/PROJECT/repos/repo.
        segments = path.split("/")
        if segments[0] == "scm" and len(segments) == 3:
            segments = segments[1:]
        if len(segments) != 2:
            return None
        project, repo = segments
        return RepoWeb(f"https://{host}/projects/{project}/repos/{repo}", "{base}/commits/{sha}")
    if "gitlab" in name:
        return RepoWeb(f"https://{host}/{path}", "{base}/-/commit/{sha}")
    if "github" in name or "gitea" in name or "codeberg" in name:
        return RepoWeb(f"https://{host}/{path}", "{base}/commit/{sha}")
    return None


def commit_url(repo_url: str, sha: str) -> str | None:
    """Link to one commit, or None when the host is unknown or `sha` is not a commit id."""
    if not sha or not _FULL_SHA.match(sha):
        return None
    web = repo_web(repo_url)
    return web.commit_url(sha) if web else None


def repo_url_for_web(repo_url: str) -> str | None:
    web = repo_web(repo_url)
    return web.base if web else None
