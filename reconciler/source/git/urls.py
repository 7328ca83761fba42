"""Repository URL forms: one canonical spelling per repository, and URLs fit to print.

`normalize_repo_url` is the identity of a repository for the mirror cache, for
credential prefixes and for the webhook matcher: the same repository written as
`https://GitHub.com/Org/Repo.git/`, `https://user@github.com:443/org/repo` or (for
SSH) `git@github.com:org/repo.git` and `ssh://git@github.com:22/org/repo` gives one
string each for HTTPS and for SSH. `same_repository` also ignores the transport, as
Argo CD's webhook matcher does.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import SplitResult, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git": 9418}
# `git@host:org/repo`: a user, a host, a colon and a path that does not start with `//`.
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/\[\]]+|\[[^\]]+\]):(?!//)(?P<path>.*)$")
# `scheme://user:password@` or `scheme://token@` inside free text such as git's stderr.
_USERINFO_IN_TEXT = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


def _split(url: str) -> SplitResult:
    """Parse any accepted form into URL parts; scp-like forms become ssh:// URLs."""
    url = url.strip()
    if "://" not in url:
        match = _SCP_LIKE.match(url)
        if match is None:
            raise ValueError(
                f'repository URL "{url}" is not a URL: use https://host/org/repo, '
                "ssh://git@host/org/repo, git@host:org/repo or file:///path"
            )
        user = f"{match['user']}@" if match["user"] else ""
        path = match["path"]
        return urlsplit(f"ssh://{user}{match['host']}/{path.lstrip('/')}")
    return urlsplit(url)


def normalize_repo_url(url: str) -> str:
    """Canonical form of a repository URL: `scheme://host[:port]/path`.

    Lower-cases scheme, host and path (hosting services treat paths case-insensitively),
    drops user info, default ports, a `.git` suffix and trailing slashes; scp-like
    `git@host:org/repo` becomes `ssh://host/org/repo`. `file://` paths keep their case
    because local file systems are case-sensitive.
    """
    parts = _split(url)
    scheme = parts.scheme.lower()
    path = parts.path.rstrip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")].rstrip("/")
    if scheme == "file":
        return f"file://{path}"
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    return f"{scheme}://{netloc}{path.lower()}"


def same_repository(a: str, b: str) -> bool:
    """True when two URLs name one repository, whatever the transport (https, ssh, git)."""
    try:
        left, right = normalize_repo_url(a), normalize_repo_url(b)
    except ValueError:
        return False
    return left.split("://", 1)[1] == right.split("://", 1)[1]


def split_credentials(url: str) -> tuple[str, str, str]:
    """`https://user:token@host/repo` -> (`https://host/repo`, "user", "token").

    The URL handed to git never carries credentials: they would show in the process
    list and be stored in the mirror's config. SSH user names are kept in the URL
    (`ssh://git@host/...`) because they are not secrets and SSH needs them.
    """
    url = url.strip()
    if "://" not in url:  # scp-like SSH form
        return url, "", ""
    parts = urlsplit(url)
    if parts.scheme.lower() in ("ssh", "git+ssh", "ssh+git"):
        return url, "", ""
    if parts.username is None and parts.password is None:
        return url, "", ""
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, parts.username or "", parts.password or ""


def redact_url(url: str) -> str:
    """The URL with any user info removed, for messages and logs."""
    return _USERINFO_IN_TEXT.sub(r"\g<scheme>", url)


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with URL user info and each known secret replaced, for errors and logs."""
    text = redact_url(text)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def repo_location(repo_url: str) -> str:
    """A local directory given as repoURL becomes a file:// URL; other URLs stay as they are."""
    if "://" not in repo_url and not repo_url.startswith("git@") and Path(repo_url).expanduser().is_dir():
        return Path(repo_url).expanduser().resolve().as_uri()
    return repo_url
