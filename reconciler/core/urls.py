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
from typing import Any
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


def redact_urls_in(value: Any) -> Any:
    """`value` (JSON-like) with user info removed from every URL in its strings: what an API
    answer passes through, so no credential ever leaves in a response."""
    if isinstance(value, str):
        return redact_url(value) if "@" in value and "://" in value else value
    if isinstance(value, dict):
        return {k: redact_urls_in(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_urls_in(v) for v in value]
    return value


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with URL user info and each known secret replaced, for errors and logs."""
    text = redact_url(text)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


# The transports this system lets git use. git's own transports beyond these (`ext::` runs a
# command, `fd::`, `git://` is unauthenticated and unencrypted) are refused here, before git.
ALLOWED_SCHEMES = ("https", "http", "ssh", "file")
# `<transport>::<address>` makes git run the remote helper `git-remote-<transport>` (ext:: runs a command).
_REMOTE_HELPER = re.compile(r"^(?P<transport>[A-Za-z0-9][A-Za-z0-9+.-]*)::")


def repo_url_problem(url: str, *, allow_credentials: bool = False) -> str:
    """Why `url` may not be a repository URL ("" when it may).

    Accepted: https://, http://, ssh://, scp-like `user@host:path`, file:// and absolute local
    paths (the latter two are limited further by RECONCILER_LOCAL_REPO_ROOTS at fetch time).
    Refused: anything starting with `-` (git would read it as an option), a host starting with
    `-` (ssh would), other transports such as `ext::` and `git://`, and embedded credentials
    (`https://user:token@host`), which belong in RECONCILER_REPO_<N>_* so that no API answer,
    status or Redis key ever holds them (`allow_credentials` is for the git layer, which strips
    them before git runs and is also given URLs from its own callers).
    """
    url = url.strip()
    shown = redact_url(url)
    if url.startswith("-"):
        return f'"{shown}" starts with "-", which git would read as an option: give an https://, ssh:// or file:// URL'
    if url.startswith("/"):
        return ""
    helper = _REMOTE_HELPER.match(url)
    if helper:
        return (
            f'"{shown}" uses the git transport "{helper["transport"]}::", which is refused: '
            f"use one of {', '.join(s + '://' for s in ALLOWED_SCHEMES)} or git@host:org/repo"
        )
    try:
        parts = _split(url)
    except ValueError as exc:
        return str(exc)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return (
            f'"{shown}" uses the scheme "{scheme}", which is refused: '
            f"use one of {', '.join(s + '://' for s in ALLOWED_SCHEMES)} or git@host:org/repo"
        )
    try:
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return f'"{shown}" has an invalid host or port'
    if scheme != "file" and (not host or host.startswith("-")):
        return f'"{shown}" has no valid host name (it is empty or starts with "-")'
    if (parts.username or "").startswith("-"):
        return f'"{shown}" has a user name starting with "-", which ssh would read as an option'
    if allow_credentials:
        return ""
    if scheme in ("http", "https") and (parts.username or parts.password):
        return (
            f'"{shown}" holds credentials (user info before "@"): remove them from the URL and configure '
            "RECONCILER_REPO_<N>_URL, RECONCILER_REPO_<N>_USERNAME and RECONCILER_REPO_<N>_PASSWORD instead"
        )
    if scheme == "ssh" and parts.password:
        return f'"{shown}" holds a password: use an SSH key from RECONCILER_REPO_<N>_SSH_PRIVATE_KEY_FILE instead'
    return ""


def revision_problem(revision: str) -> str:
    """Why `revision` may not be a target revision ("" when it may): one starting with `-`
    would be read by git as an option."""
    if revision.strip().startswith("-"):
        return f'"{revision}" starts with "-": give a branch, tag or commit SHA'
    return ""


def repo_location(repo_url: str) -> str:
    """A local directory given as repoURL becomes a file:// URL; other URLs stay as they are."""
    if "://" not in repo_url and not repo_url.startswith("git@") and Path(repo_url).expanduser().is_dir():
        return Path(repo_url).expanduser().resolve().as_uri()
    return repo_url
