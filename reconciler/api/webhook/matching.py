"""Does a push concern an application source? Repository, revision, then changed paths.

A false "yes" costs one refresh of an app whose commit did not move; a false "no"
delays a deployment until the next poll. Where the payload leaves a doubt, say yes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from reconciler.api.webhook.event import PushEvent
from reconciler.core.urls import normalize_repo_url
from reconciler.core.watched_paths import files_match

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


__all__ = ["files_match", "matches", "revision_matches", "same_repository"]
