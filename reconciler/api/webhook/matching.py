"""Does a push concern an application source? Repository, revision, then changed paths.

A false "yes" costs one refresh of an app whose commit did not move; a false "no"
delays a deployment until the next poll. Where the payload leaves a doubt, say yes.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from fnmatch import fnmatchcase

from reconciler.api.webhook.event import PushEvent
from reconciler.core.urls import normalize_repo_url

_FULL_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
# A semver range ("1.2.*", ">=1.0.0 <2.0.0", "^1.2", "1.x") names tags by rule, not by name.
_SEMVER_RANGE = re.compile(r"[*^~<>=|,]|(?:^|\.)[xX](?:\.|$)")
# Argo CD's repo matcher accepts `ssh.` / `altssh.` hosts for the same repository
# (GitHub's ssh.github.com:443, GitLab's altssh.gitlab.com).
_SSH_HOST_PREFIX = re.compile(r"^(?:alt)?ssh\.")


def matches(
    event: PushEvent,
    repo_url: str,
    target_revision: str,
    path: str,
    value_files: Sequence[str] = (),
    extra_paths: str = "",
) -> bool:
    """True when the push may change what this source renders.

    `path` is the source's directory in the repository, `value_files` its Helm value
    files (relative to `path`), `extra_paths` the `;`-separated value of Argo CD's
    `argocd.argoproj.io/manifest-generate-paths` annotation (relative to `path`, or
    from the repository root with a leading `/`; globs allowed). Pings never match.
    """
    if event.is_ping:
        return False
    if not any(same_repository(url, repo_url) for url in event.repo_urls):
        return False
    if not revision_matches(event, target_revision):
        return False
    return files_match(event.changed_files, path, value_files, extra_paths)


def _repository_key(url: str) -> tuple[str, str]:
    """(host, path) of a repository: transport, user, port and `.git` do not matter."""
    normalized = normalize_repo_url(url)
    scheme, _, rest = normalized.partition("://")
    if scheme == "file":
        return "", rest
    host_port, _, repo_path = rest.partition("/")
    host = host_port.rsplit(":", 1)[0] if host_port.count(":") == 1 else host_port
    # Like Argo CD, any port: a server's HTTPS and SSH ports differ, its repository paths do not.
    return _SSH_HOST_PREFIX.sub("", host), repo_path


def same_repository(pushed_url: str, app_repo_url: str) -> bool:
    try:
        return _repository_key(pushed_url) == _repository_key(app_repo_url)
    except ValueError:  # not a URL at all: it names no repository we could match
        return False


def revision_matches(event: PushEvent, target_revision: str) -> bool:
    """Argo CD's rule, a little stricter about branch vs tag when the target says which.

    `HEAD`/"" follows the default branch (any branch push when the payload does not
    name it, as Argo CD does for Bitbucket); `refs/...` must equal the pushed ref; a
    short name matches a branch or tag of that name; a commit SHA is pinned and never
    moves; a semver range matches any tag push (the resolver picks the tag).
    """
    target = target_revision.strip()
    ref = event.ref
    branch = ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else None
    tag = ref[len("refs/tags/") :] if ref.startswith("refs/tags/") else None
    if target in ("", "HEAD"):
        if branch is None:
            return False
        return not event.default_branch or branch == event.default_branch
    if target.startswith("refs/"):
        return target == ref
    if _FULL_SHA.match(target.lower()):
        return False
    if target in (branch, tag):
        return True
    return tag is not None and bool(_SEMVER_RANGE.search(target))


def _clean(path: str) -> str:
    """Repository-relative POSIX path without `./`, `//` or a leading slash; "" is the root."""
    cleaned = posixpath.normpath("/" + path.strip()).lstrip("/")
    return "" if cleaned == "." else cleaned


def _resolve(base: str, relative: str) -> str | None:
    """`relative` joined to `base`; None when it leaves the repository (or is a URL/ref)."""
    relative = relative.strip()
    if not relative or "://" in relative or relative.startswith("$"):
        return None  # remote value files and `$ref/...` of another source: not this push's files
    joined = posixpath.normpath(posixpath.join(base or ".", relative))
    if joined == ".." or joined.startswith("../"):
        return None
    return "" if joined == "." else joined


def _watched_paths(path: str, value_files: Sequence[str], extra_paths: str) -> list[str]:
    base = _clean(path)
    watched = [base]
    for value_file in value_files:
        resolved = _resolve(base, value_file)
        if resolved is not None:
            watched.append(resolved)
    for item in extra_paths.split(";"):
        item = item.strip()
        if not item:
            continue
        resolved = _clean(item) if item.startswith("/") else _resolve(base, item)
        if resolved is not None:
            watched.append(resolved)
    return watched


def _covers(watched: str, changed: str) -> bool:
    if watched == "":
        return True
    if changed == watched or changed.startswith(watched + "/"):
        return True
    # Globs as Go's filepath.Match (Argo CD): `*` stays within one path segment.
    watched_parts, changed_parts = watched.split("/"), changed.split("/")
    return len(watched_parts) <= len(changed_parts) and all(
        fnmatchcase(c, w) for w, c in zip(watched_parts, changed_parts, strict=False)
    )


def files_match(
    changed_files: Sequence[str] | None, path: str, value_files: Sequence[str] = (), extra_paths: str = ""
) -> bool:
    """True when any changed file lies under the source path, a value file or an extra path.

    None (the provider did not say which files changed) always matches.
    """
    if changed_files is None:
        return True
    watched = _watched_paths(path, value_files, extra_paths)
    return any(_covers(w, _clean(f)) for f in changed_files for w in watched)
